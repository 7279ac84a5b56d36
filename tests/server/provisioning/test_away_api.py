"""A resident's away periods through the API: who may set them, what is refused, and that they
travel in the home's configuration as a new revision that the installer's edits keep."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.crud.users import create_user
from server.db.care_models import Resident
from server.db.dispatch_models import AuditEntry
from server.db.models import DeviceEvent
from tests.server.care_seed import seed_district
from tests.server.provisioning.test_gateway_setup_api import CONFIG
from tests.server.provisioning.test_gateway_setup_api import Rig as SetupRig
from tests.server.test_api import PASSWORD, login


@dataclass
class Rig:
    client: TestClient
    admin: dict[str, str]
    resident_id: int
    other_resident_id: int

    def as_(self, username: str) -> dict[str, str]:
        return login(self.client, username)

    @property
    def away(self) -> str:
        return f"/api/residents/{self.resident_id}/away"

    def config(self) -> dict[str, Any]:
        answer = self.client.get("/api/gateways/gw-new/config", headers=self.admin)
        setup: dict[str, Any] = answer.json()
        return setup


@pytest.fixture
def away_rig(rig: SetupRig) -> Rig:
    """The provisioning rig's home with a configured gateway, its resident's family, and
    another home's resident and family."""
    centre = rig.client.app.state.centre  # type: ignore[attr-defined]
    with centre.sessions.begin() as session:
        other = seed_district(session, gateway_id="gw-other")
        resident_id = session.scalars(
            select(Resident.id).where(Resident.home_id == rig.home_id)
        ).one()
        now = datetime.now(UTC)
        create_user(session, "supervisor-1", PASSWORD, "supervisor", now)
        create_user(session, "family-1", PASSWORD, "family", now, resident_id=resident_id)
        create_user(session, "family-2", PASSWORD, "family", now, resident_id=other.resident_id)
    body = {"gateway_id": "gw-new", "home_id": rig.home_id}
    assert rig.client.post("/api/gateways", json=body, headers=rig.admin).status_code == 201
    put = rig.client.put("/api/gateways/gw-new/config", json=CONFIG, headers=rig.admin)
    assert put.status_code == 200, put.text
    return Rig(rig.client, rig.admin, resident_id, other.resident_id)


def soon(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def period(start_days: float, days: float, note: str = "") -> dict[str, str]:
    """``days`` long exactly, starting ``start_days`` from now."""
    start = datetime.now(UTC) + timedelta(days=start_days)
    return {
        "start": start.isoformat(),
        "end": (start + timedelta(days=days)).isoformat(),
        "note": note,
    }


HOLIDAY = period(7, 14, "Hainan with her son")  # as long as a family member may set


def test_family_plans_a_holiday_pushed_as_the_next_revision(away_rig: Rig) -> None:
    answer = away_rig.client.put(
        away_rig.away, json={"periods": [HOLIDAY]}, headers=away_rig.as_("family-1")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["gateway_ids"] == ["gw-new"]
    assert answer.json()["away_now"] is None
    setup = away_rig.config()
    assert setup["revision"] == 2
    [period] = setup["config"]["away"]
    assert period["note"] == "Hainan with her son"
    assert datetime.fromisoformat(period["start"]) == datetime.fromisoformat(HOLIDAY["start"])
    read = away_rig.client.get(away_rig.away, headers=away_rig.as_("family-1")).json()
    assert read["periods"] == answer.json()["periods"]
    with away_rig.client.app.state.centre.sessions() as session:  # type: ignore[attr-defined]
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "family-1"))
        assert "plan_away" in list(actions)


@pytest.mark.parametrize(
    ("username", "code"),
    [
        ("operator-1", 200),
        ("supervisor-1", 200),
        (None, 200),  # admin
        ("family-1", 200),
        ("family-2", 404),  # another resident's family: as if the resident did not exist
        ("installer-1", 403),  # sets up devices, not people's holidays
    ],
)
def test_who_may_set_away(away_rig: Rig, username: str | None, code: int) -> None:
    headers = away_rig.as_(username) if username else away_rig.admin
    answer = away_rig.client.post(f"{away_rig.away}/now", json={"until": soon(2)}, headers=headers)
    assert answer.status_code == code, answer.text
    assert away_rig.config()["revision"] == (2 if code == 200 else 1)


@pytest.mark.parametrize(
    "periods",
    [
        [{"start": soon(3), "end": soon(2)}],  # ends before it starts
        [{"start": soon(1), "end": soon(100)}],  # longer than 92 days
        [{"start": "2030-01-01T08:00:00", "end": "2030-01-05T08:00:00"}],  # no offset
        [{"start": soon(1), "end": soon(5)}, {"start": soon(4), "end": soon(8)}],  # overlap
        [{"start": soon(-5), "end": soon(-1)}],  # over already
        [{"start": soon(1), "end": soon(2), "note": "x" * 201}],
        [{"start": soon(1), "end": soon(2), "colour": "red"}],
        [{"start": soon(2 * i + 1), "end": soon(2 * i + 2)} for i in range(33)],
        [{"start": "next Monday", "end": soon(2)}],
    ],
)
def test_bad_periods_are_refused_and_nothing_is_pushed(away_rig: Rig, periods: list[Any]) -> None:
    answer = away_rig.client.put(away_rig.away, json={"periods": periods}, headers=away_rig.admin)
    assert answer.status_code == 422, answer.text
    assert away_rig.config()["revision"] == 1


@pytest.mark.parametrize("until", [soon(-1 / 24), soon(93), "tomorrow", "2030-01-01T08:00:00"])
def test_a_bad_away_now_is_refused(away_rig: Rig, until: str) -> None:
    answer = away_rig.client.post(
        f"{away_rig.away}/now", json={"until": until}, headers=away_rig.admin
    )
    assert answer.status_code == 422, answer.text


def test_away_now_then_back_now_keeps_the_later_plans(away_rig: Rig) -> None:
    away_rig.client.put(away_rig.away, json={"periods": [HOLIDAY]}, headers=away_rig.admin)
    now = away_rig.client.post(
        f"{away_rig.away}/now", json={"until": soon(3), "note": "hospital"}, headers=away_rig.admin
    ).json()
    assert now["away_now"]["note"] == "hospital"
    assert [p["note"] for p in now["periods"]] == ["hospital", HOLIDAY["note"]]
    back = away_rig.client.post(f"{away_rig.away}/back", headers=away_rig.admin)
    assert back.status_code == 200
    assert back.json()["away_now"] is None
    assert [p["note"] for p in back.json()["periods"]] == [HOLIDAY["note"]]
    assert [p["note"] for p in away_rig.config()["config"]["away"]] == [HOLIDAY["note"]]
    assert away_rig.config()["revision"] == 4


def test_away_now_into_a_planned_holiday_is_a_conflict(away_rig: Rig) -> None:
    away_rig.client.put(away_rig.away, json={"periods": [HOLIDAY]}, headers=away_rig.admin)
    answer = away_rig.client.post(
        f"{away_rig.away}/now", json={"until": soon(10)}, headers=away_rig.admin
    )
    assert answer.status_code == 409
    assert "planned period" in answer.json()["detail"]


def test_the_installers_next_edit_and_a_resident_edit_keep_the_periods(away_rig: Rig) -> None:
    away_rig.client.put(away_rig.away, json={"periods": [HOLIDAY]}, headers=away_rig.admin)
    edited = {**CONFIG, "heartbeat_interval_s": 45}
    away_rig.client.put("/api/gateways/gw-new/config", json=edited, headers=away_rig.admin)
    resident = away_rig.client.get(
        f"/api/residents/{away_rig.resident_id}", headers=away_rig.admin
    ).json()
    changed = {k: v for k, v in resident.items() if k not in ("id", "created_at")}
    changed["checkin_due"] = "08:45"
    put = away_rig.client.put(
        f"/api/residents/{away_rig.resident_id}", json=changed, headers=away_rig.admin
    )
    assert put.status_code == 200, put.text
    setup = away_rig.config()
    assert setup["revision"] == 4
    assert setup["config"]["resident"]["checkin_due"] == "08:45"
    assert [p["note"] for p in setup["config"]["away"]] == [HOLIDAY["note"]]


def test_a_home_without_a_configured_gateway_has_nowhere_to_keep_them(away_rig: Rig) -> None:
    away = f"/api/residents/{away_rig.other_resident_id}/away"
    answer = away_rig.client.put(away, json={"periods": [HOLIDAY]}, headers=away_rig.admin)
    assert answer.status_code == 409
    assert "no gateway configured" in answer.json()["detail"]
    assert away_rig.client.get(away, headers=away_rig.admin).json()["periods"] == []


def _away_ended(rig: Rig, gateway_id: str, at: datetime) -> None:
    """What ingest stores when a gateway reports activity ending an away period."""
    centre = rig.client.app.state.centre  # type: ignore[attr-defined]
    with centre.sessions.begin() as session:
        session.add(
            DeviceEvent(
                id=uuid.uuid4().hex,
                gateway_id=gateway_id,
                device_id="pir-hall",
                kind="away_ended",
                detail={},
                gateway_time=at,
            )
        )


def test_activity_reported_by_the_homes_gateway_ends_the_period_at_the_centre_too(
    away_rig: Rig,
) -> None:
    away_rig.client.put(away_rig.away, json={"periods": [HOLIDAY]}, headers=away_rig.admin)
    away_rig.client.post(
        f"{away_rig.away}/now", json={"until": soon(3), "note": "hospital"}, headers=away_rig.admin
    )
    now = datetime.now(UTC)
    _away_ended(away_rig, "gw-new", now - timedelta(days=1))  # before the period: not its end
    _away_ended(away_rig, "gw-other", now)  # another home's activity
    still = away_rig.client.get(away_rig.away, headers=away_rig.admin).json()
    assert still["away_now"]["note"] == "hospital"

    _away_ended(away_rig, "gw-new", now)
    shown = away_rig.client.get(away_rig.away, headers=away_rig.admin).json()
    assert shown["away_now"] is None
    assert [p["note"] for p in shown["periods"]] == [HOLIDAY["note"]]


def test_a_gateway_configured_after_the_holiday_was_planned_carries_it_too(
    away_rig: Rig,
) -> None:
    """All of a home's gateways carry the same periods. A second gateway configured later
    took the away periods of its own (empty) entry: it raised inactivity alarms for an empty
    home, and the API, reading whichever gateway sorts first, showed no holiday."""
    planned = away_rig.client.put(
        away_rig.away, json={"periods": [HOLIDAY]}, headers=away_rig.admin
    )
    assert planned.status_code == 200, planned.text
    home_id = planned.json()["home_id"]
    body = {"gateway_id": "gw-a-second", "home_id": home_id}  # sorts before gw-new
    assert (
        away_rig.client.post("/api/gateways", json=body, headers=away_rig.admin).status_code == 201
    )
    put = away_rig.client.put(
        "/api/gateways/gw-a-second/config", json=CONFIG, headers=away_rig.admin
    )
    assert put.status_code == 200, put.text
    second = away_rig.client.get("/api/gateways/gw-a-second/config", headers=away_rig.admin)
    assert [p["note"] for p in second.json()["config"]["away"]] == [HOLIDAY["note"]]
    read = away_rig.client.get(away_rig.away, headers=away_rig.admin).json()
    assert read["gateway_ids"] == ["gw-a-second", "gw-new"]
    assert [p["note"] for p in read["periods"]] == [HOLIDAY["note"]]
