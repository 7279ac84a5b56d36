"""The dispatch API on SQLite and PostgreSQL: care records, roles, the audit log, the alarm
lifecycle, suggestions and service orders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from protocol import AlarmBody, AlarmKind, AlarmMessage, Origin, encode
from protocol.messages import DEFAULT_PRIORITY
from server.core.config import ServerSettings
from server.crud.users import create_user
from server.main import create_app
from tests.server.care_seed import HOME_POSITION, north_of_home
from tests.server.test_api import PASSWORD, login


@pytest.fixture
def client(tmp_path: Path, store_url: str | None) -> Iterator[TestClient]:
    settings = ServerSettings(
        data_dir=tmp_path,
        mqtt_enabled=False,
        admin_password=PASSWORD,
        database_url=store_url,
        dispatch_tick_s=60,  # the tests drive every step themselves
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def post(client: TestClient, path: str, headers: dict[str, str], body: Any, code: int = 200) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == code, response.text
    return response.json()


def seed(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    city = post(client, "/api/organisations", admin, {"name": "City", "level": "city"}, 201)
    community = post(
        client,
        "/api/organisations",
        admin,
        {"name": "Renmin", "level": "community", "parent_id": city["id"]},
        201,
    )
    home = post(
        client,
        "/api/homes",
        admin,
        {
            "id": "home-7",
            "organisation_id": community["id"],
            "address": "7 Renmin Avenue",
            "latitude": HOME_POSITION[0],
            "longitude": HOME_POSITION[1],
            "gateway_ids": ["gw-7"],
        },
        201,
    )
    resident = post(
        client,
        "/api/residents",
        admin,
        {
            "home_id": "home-7",
            "name": "Wang Lan",
            "priority_groups": ["living_alone"],
            "contacts": [{"name": "Wang Mei", "relation": "daughter", "phone": "+86 100"}],
            "consent": True,
            "consent_date": "2026-11-01",
        },
        201,
    )
    workers = [
        post(
            client,
            "/api/responders",
            admin,
            {
                "name": name,
                "kind": "care_worker",
                "latitude": north_of_home(metres),
                "longitude": HOME_POSITION[1],
                "skills": skills,
            },
            201,
        )
        for name, metres, skills in (
            ("Far", 2500, ["first_aid", "lifting"]),
            ("Near", 400, ["first_aid", "lifting"]),
            ("Unskilled", 100, []),
        )
    ]
    return {
        "city": city,
        "community": community,
        "home": home,
        "resident": resident,
        "workers": workers,
    }


def raise_alarm(client: TestClient, kind: AlarmKind, gateway_id: str = "gw-7") -> str:
    message = AlarmMessage(
        gateway_id=gateway_id,
        device_id="btn",
        gateway_time=datetime.now(UTC),
        body=AlarmBody(
            kind=kind,
            priority=DEFAULT_PRIORITY[kind],
            home_id="declared",
            origin=Origin(transport="serial", device_kind="call_button", frame_seq=1),
        ),
    )
    centre = client.app.state.centre  # type: ignore[attr-defined]
    centre.handler.handle(f"eldercare/v1/{gateway_id}/up/alarm", encode(message))
    return message.id


def test_care_records_pages_filters_and_audit(client: TestClient) -> None:
    admin = login(client)
    made = seed(client, admin)
    assert made["home"]["gateway_ids"] == ["gw-7"]
    first = client.get("/api/responders?limit=2&offset=0", headers=admin).json()
    second = client.get("/api/responders?limit=2&offset=2", headers=admin).json()
    assert (first["total"], len(first["items"]), len(second["items"])) == (3, 2, 1)
    assert client.get("/api/responders?kind=family", headers=admin).json()["total"] == 0
    groups = client.get("/api/residents?priority_group=living_alone", headers=admin).json()
    assert [r["name"] for r in groups["items"]] == ["Wang Lan"]
    assert client.get("/api/residents?priority_group=dementia", headers=admin).json()["total"] == 0
    rid = made["resident"]["id"]
    record = client.get(f"/api/residents/{rid}", headers=admin).json()
    assert record["contacts"][0]["phone"] == "+86 100"
    changed = {
        **{k: v for k, v in record.items() if k not in ("id", "created_at")},
        "name": "W. Lan",
    }
    assert client.put(f"/api/residents/{rid}", json=changed, headers=admin).status_code == 200
    audit = client.get(f"/api/audit?entity=resident&entity_id={rid}", headers=admin).json()
    assert [(e["action"], e["actor"]) for e in audit["items"]] == [
        ("update", "operator"),
        ("read", "operator"),
        ("read", "operator"),  # the filtered list showed the record too
        ("create", "operator"),
    ]
    assert audit["items"][0]["detail"] == {"fields": ["name"]}  # names, not the contents
    # A parent with children cannot go; a gateway serves one home only.
    city_id = made["city"]["id"]
    assert client.delete(f"/api/organisations/{city_id}", headers=admin).status_code == 409
    other = {**made["home"], "id": "home-8"}
    del other["created_at"]
    assert client.post("/api/homes", json=other, headers=admin).status_code == 409


def test_roles_decide_and_operator_reads_are_audited(client: TestClient) -> None:
    admin = login(client)
    rid = seed(client, admin)["resident"]["id"]
    centre = client.app.state.centre  # type: ignore[attr-defined]
    with centre.sessions.begin() as session:
        create_user(session, "li", "li-password", "operator", datetime.now(UTC))
    operator = login(client, "li", "li-password")
    body = {"home_id": "home-7", "name": "Someone"}
    assert client.post("/api/residents", json=body, headers=operator).status_code == 403
    assert client.get("/api/audit", headers=operator).status_code == 403
    assert client.get(f"/api/residents/{rid}", headers=operator).status_code == 200
    reads = client.get("/api/audit?actor=li", headers=admin).json()["items"]
    assert [(e["action"], e["entity"], e["entity_id"]) for e in reads] == [
        ("read", "resident", str(rid))
    ]
    assert client.get("/api/residents/999999", headers=operator).status_code == 404


def test_alarm_lifecycle_from_suggestion_to_resolution(client: TestClient) -> None:
    admin = login(client)
    made = seed(client, admin)
    far, near, unskilled = (w["id"] for w in made["workers"])
    alarm_id = raise_alarm(client, AlarmKind.FALL)
    alarm = client.get(f"/api/alarms/{alarm_id}", headers=admin).json()
    assert (alarm["home_id"], alarm["resident_id"]) == ("home-7", made["resident"]["id"])
    assert (alarm["state"], alarm["status"], alarm["escalation_state"]) == (
        "raised",
        "open",
        "pending",
    )

    suggestions = client.get(f"/api/alarms/{alarm_id}/suggestions", headers=admin).json()
    assert [s["responder_id"] for s in suggestions] == [near, far, unskilled]  # skills first
    assert suggestions[0]["name"] == "Near"
    assert suggestions[0]["eta_s"] == pytest.approx(400 * 1.3 / (15 / 3.6), rel=0.01)

    path = f"/api/alarms/{alarm_id}"
    dispatched = post(client, f"{path}/dispatch", admin, {})  # the best suggestion
    assert (dispatched["state"], dispatched["responder_id"]) == ("dispatched", near)
    acknowledged = post(client, f"{path}/acknowledge", admin, None)
    assert (acknowledged["status"], acknowledged["state"]) == ("acknowledged", "dispatched")
    post(client, f"{path}/answer/accept", admin, {"responder_id": far}, 409)  # not asked
    accepted = post(client, f"{path}/answer/accept", admin, {"responder_id": near})
    assert (accepted["state"], accepted["escalation_state"]) == ("accepted", "accepted")
    post(client, f"{path}/progress/on_scene", admin, None)
    post(client, f"{path}/progress/en_route", admin, None, 409)  # already there
    post(client, f"{path}/notes", admin, {"note": "bruised hip, seen by GP"})
    post(client, f"{path}/resolve", admin, {"outcome": "lost"}, 422)
    resolved = post(client, f"{path}/resolve", admin, {"outcome": "real_emergency"})
    assert (resolved["state"], resolved["status"], resolved["outcome"]) == (
        "resolved",
        "resolved",
        "real_emergency",
    )
    history = client.get(f"{path}/history", headers=admin).json()
    assert [h["action"] for h in history] == [
        "raised",
        "dispatched",
        "acknowledged",
        "accepted",
        "on_scene",
        "note",
        "resolved",
    ]
    assert history[5]["note"] == "bruised hip, seen by GP"
    assert client.get(f"/api/responders/{near}", headers=admin).json()["status"] == "available"
    assert client.get("/api/alarms?status=open", headers=admin).json() == []
    assert [a["id"] for a in client.get("/api/alarms?state=resolved", headers=admin).json()] == [
        alarm_id
    ]
    assert (
        client.post(f"/api/alarms/{'f' * 32}/dispatch", json={}, headers=admin).status_code == 404
    )


def test_service_request_becomes_an_order_with_its_own_lifecycle(client: TestClient) -> None:
    admin = login(client)
    seed(client, admin)
    alarm_id = raise_alarm(client, AlarmKind.SERVICE_REQUEST)
    [order] = client.get("/api/service-orders?state=requested", headers=admin).json()["items"]
    assert (order["alarm_id"], order["home_id"], order["service"]) == (alarm_id, "home-7", None)
    path = f"/api/service-orders/{order['id']}"
    meals = client.patch(path, json={"service": "meals", "state": "scheduled"}, headers=admin)
    assert (meals.json()["service"], meals.json()["state"]) == ("meals", "scheduled")
    done = client.patch(path, json={"state": "completed"}, headers=admin).json()
    assert done["completed_at"] is not None
    assert client.patch(path, json={"state": "in_progress"}, headers=admin).status_code == 409
    assert client.patch(path, json={"service": "flowers"}, headers=admin).status_code == 422


def test_dispatch_settings_inherit_and_refuse_nonsense(client: TestClient) -> None:
    admin = login(client)
    made = seed(client, admin)
    city, community = made["city"]["id"], made["community"]["id"]
    path = "/api/organisations/{}/dispatch-settings"
    put = client.put(path.format(city), json={"notify_timeout_s": 30}, headers=admin)
    assert put.status_code == 200
    inherited = client.get(path.format(community), headers=admin).json()
    assert inherited["notify_timeout_s"] == 30
    for bad in ({"notify_timeout_s": -1}, {"timezone": "Nowhere/Land"}, {"unknown": 1}):
        assert client.put(path.format(community), json=bad, headers=admin).status_code == 422
