"""A family member's away periods are bounded and never go unnoticed: a stretch longer than
SERVER_FAMILY_AWAY_MAX_DAYS is refused for family (the centre's staff may set up to 92 days),
and every change a family account makes is a live event on the operators' consoles and an
audit entry naming the role."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.api.away_notice import EVENT
from server.centre import Centre
from server.db.dispatch_models import AuditEntry
from tests.server.provisioning.test_away_api import Rig, away_rig, period, soon

__all__ = ["away_rig"]


def _centre(rig: Rig) -> Centre:
    centre: Centre = rig.client.app.state.centre  # type: ignore[attr-defined]
    return centre


@pytest.fixture
def shown(away_rig: Rig, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What this process hands its live hub for the consoles, as it is handed over."""
    events: list[dict[str, Any]] = []
    monkeypatch.setattr(_centre(away_rig).hub, "publish", events.append)
    return events


def _plan(rig: Rig, who: str, *periods: dict[str, str]) -> Any:
    headers = rig.as_(who) if who != "admin" else rig.admin
    return rig.client.put(rig.away, json={"periods": list(periods)}, headers=headers)


@pytest.mark.parametrize(
    "periods",
    [
        [period(3, 14.01)],  # a little over the limit
        [period(1, 60)],
        [period(1, 8), period(9.5, 8)],  # back to back, half a day at home between: 16.5 days
    ],
)
def test_family_may_not_set_a_stretch_longer_than_the_limit(
    away_rig: Rig, shown: list[dict[str, Any]], periods: list[dict[str, str]]
) -> None:
    answer = _plan(away_rig, "family-1", *periods)
    assert answer.status_code == 403, answer.text
    assert "a family account may set at most 14 days" in answer.json()["detail"]
    assert away_rig.config()["revision"] == 1  # nothing pushed
    assert shown == []
    with _centre(away_rig).sessions() as session:
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.action == "plan_away")).all() == []
        )


def test_family_away_now_beyond_the_limit_is_refused(away_rig: Rig) -> None:
    family = away_rig.as_("family-1")
    answer = away_rig.client.post(f"{away_rig.away}/now", json={"until": soon(15)}, headers=family)
    assert answer.status_code == 403, answer.text
    fine = away_rig.client.post(f"{away_rig.away}/now", json={"until": soon(13)}, headers=family)
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize("who", ["operator-1", "supervisor-1", "admin"])
def test_the_centres_staff_may_set_up_to_92_days(away_rig: Rig, who: str) -> None:
    assert _plan(away_rig, who, period(1, 60)).status_code == 200
    assert _plan(away_rig, who, period(1, 92.5)).status_code == 422  # the wire's bound


def test_family_keeps_or_shortens_a_longer_period_the_centre_set(away_rig: Rig) -> None:
    hospital = period(1, 40, "rehabilitation clinic")
    assert _plan(away_rig, "operator-1", hospital).status_code == 200
    visit = period(50, 5, "her son's wedding")
    assert _plan(away_rig, "family-1", hospital, visit).status_code == 200
    shorter = {**hospital, "end": period(1, 30)["end"]}
    assert _plan(away_rig, "family-1", shorter, visit).status_code == 200
    longer = {**hospital, "end": period(1, 45)["end"]}
    assert _plan(away_rig, "family-1", longer, visit).status_code == 403
    next_to_it = period(31.2, 3)  # within a day of the clinic's end: one stretch of 33 days
    assert _plan(away_rig, "family-1", shorter, next_to_it).status_code == 403


def test_the_limit_is_a_setting(away_rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    centre = _centre(away_rig)
    monkeypatch.setenv("SERVER_FAMILY_AWAY_MAX_DAYS", "3")
    settings = type(centre.settings)(data_dir=centre.settings.data_dir)
    assert settings.family_away_max_days == 3
    monkeypatch.setattr(centre, "settings", settings)
    answer = _plan(away_rig, "family-1", period(1, 4))
    assert answer.status_code == 403
    assert "at most 3 days" in answer.json()["detail"]
    assert _plan(away_rig, "family-1", period(1, 3)).status_code == 200


def test_every_family_change_is_shown_to_the_operators_and_audited(
    away_rig: Rig, shown: list[dict[str, Any]]
) -> None:
    family = away_rig.as_("family-1")
    assert _plan(away_rig, "family-1", period(2, 5, "Hainan")).status_code == 200
    away_rig.client.post(f"{away_rig.away}/now", json={"until": soon(1)}, headers=family)
    away_rig.client.post(f"{away_rig.away}/back", headers=family)
    assert _plan(away_rig, "operator-1", period(2, 6)).status_code == 200  # staff: no notice

    assert [e["type"] for e in shown] == [EVENT] * 3
    assert [e["action"] for e in shown] == ["plan_away", "away_now", "back_now"]
    assert {e["by"] for e in shown} == {"family-1"}
    assert {e["resident_id"] for e in shown} == {away_rig.resident_id}
    assert [p["note"] for p in shown[0]["periods"]] == ["Hainan"]
    assert shown[1]["away_now"] is not None
    assert shown[2]["away_now"] is None
    with _centre(away_rig).sessions() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "resident").order_by(AuditEntry.id)
        ).all()
    changes = [(e.actor, e.action, e.detail["role"]) for e in entries if "role" in e.detail]
    assert changes == [
        ("family-1", "plan_away", "family"),
        ("family-1", "away_now", "family"),
        ("family-1", "back_now", "family"),
        ("operator-1", "plan_away", "operator"),
    ]
