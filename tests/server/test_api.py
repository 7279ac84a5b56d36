"""The REST API without a broker: authentication, roles, validation, acknowledgement."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from protocol import encode
from server import ConfigurationError
from server.centre import INITIAL_LOGIN_FILE
from server.core.config import ServerSettings
from server.crud.users import create_user
from server.main import create_app
from tests.factories import alarm_message

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServerSettings(data_dir=tmp_path, mqtt_enabled=False, admin_password=PASSWORD)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def login(
    client: TestClient, username: str = "operator", password: str = PASSWORD
) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # make each test say how it authenticates
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def raise_alarm(client: TestClient) -> str:
    message = alarm_message("gw-1", device_id="btn")
    centre = client.app.state.centre  # type: ignore[attr-defined]
    centre.handler.handle("eldercare/v1/gw-1/up/alarm", encode(message))
    return message.id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/alarms"),
        ("GET", "/api/alarms/" + "0" * 32),
        ("POST", "/api/alarms/" + "0" * 32 + "/acknowledge"),
        ("GET", "/api/stream"),
        ("GET", "/api/gateways"),
        ("GET", "/api/device-events"),
        ("GET", "/api/rejected-messages"),
        ("GET", "/api/auth/me"),
        ("POST", "/api/auth/logout"),
    ],
)
def test_unauthenticated_calls_get_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    bogus = client.request(method, path, headers={"Authorization": "Bearer not-a-token"})
    assert bogus.status_code == 401


def test_health_needs_no_login(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    wrong = client.post("/api/auth/login", json={"username": "operator", "password": "nope"})
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_cookie_login_works_and_logout_ends_the_session(client: TestClient) -> None:
    response = client.post("/api/auth/login", json={"username": "operator", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    me = client.get("/api/auth/me").json()
    assert (me["username"], me["role"]) == ("operator", "admin")
    assert client.post("/api/auth/logout").status_code == 403  # cookie without our Origin
    assert (
        client.post("/api/auth/logout", headers={"Origin": "http://testserver"}).status_code == 204
    )
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_acknowledge_once_then_idempotent(client: TestClient) -> None:
    headers = login(client)
    alarm_id = raise_alarm(client)
    [listed] = client.get("/api/alarms", headers=headers).json()
    assert listed["id"] == alarm_id
    assert listed["status"] == "open"
    first = client.post(f"/api/alarms/{alarm_id}/acknowledge", headers=headers).json()
    assert first["status"] == "acknowledged"
    assert first["acknowledged_by"] == "operator"
    second = client.post(f"/api/alarms/{alarm_id}/acknowledge", headers=headers).json()
    assert second["acknowledged_at"] == first["acknowledged_at"]
    assert client.get("/api/alarms?status=open", headers=headers).json() == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/api/alarms/" + "f" * 32 + "/acknowledge", 404),
        ("GET", "/api/alarms/" + "f" * 32, 404),
        ("GET", "/api/alarms/not-an-id", 422),
        ("GET", "/api/alarms?limit=0", 422),
        ("GET", "/api/alarms?limit=abc", 422),
        ("GET", "/api/alarms?status=closed", 422),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path, headers=login(client))
    assert response.status_code == status
    assert response.json()["detail"]


def test_malformed_login_body_is_422(client: TestClient) -> None:
    for body in ({}, {"username": "", "password": "x"}, {"username": "a" * 65, "password": "x"}):
        assert client.post("/api/auth/login", json=body).status_code == 422
    assert (
        client.post(
            "/api/auth/login", content=b"{oops", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )


def test_operators_cannot_read_dead_letters(client: TestClient) -> None:
    centre = client.app.state.centre  # type: ignore[attr-defined]
    with centre.sessions.begin() as session:
        create_user(session, "li", "li-password", "operator", datetime.now(UTC))
    operator = login(client, "li", "li-password")
    assert client.get("/api/rejected-messages", headers=operator).status_code == 403
    assert client.get("/api/alarms", headers=operator).status_code == 200
    assert client.get("/api/rejected-messages", headers=login(client)).status_code == 200


def test_first_run_without_password_writes_a_private_login_file(tmp_path: Path) -> None:
    settings = ServerSettings(data_dir=tmp_path, mqtt_enabled=False)
    with TestClient(create_app(settings)) as test_client:
        path = tmp_path / INITIAL_LOGIN_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        lines = dict(line.split(": ", 1) for line in path.read_text().splitlines())
        response = test_client.post("/api/auth/login", json=lines)
        assert response.status_code == 200


def test_production_refuses_embedded_defaults() -> None:
    with pytest.raises(ConfigurationError):
        ServerSettings(environment="production", mqtt_password="x")  # no database URL
    with pytest.raises(ConfigurationError):
        ServerSettings(environment="production", database_url="postgresql+psycopg://a@b/c")


def test_cookie_authenticated_change_needs_our_own_origin(client: TestClient) -> None:
    client.post("/api/auth/login", json={"username": "operator", "password": PASSWORD})
    alarm_id = raise_alarm(client)
    path = f"/api/alarms/{alarm_id}/acknowledge"
    for origin in ("http://evil.example", "http://testserver:8080"):
        refused = client.post(path, headers={"Origin": origin})
        assert refused.status_code == 403
    assert client.post(path).status_code == 403  # no Origin, no Referer: refused too
    assert client.get(f"/api/alarms/{alarm_id}").json()["status"] == "open"
    accepted = client.post(path, headers={"Origin": "http://testserver"})
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "acknowledged"


def test_bearer_clients_need_no_origin(client: TestClient) -> None:
    headers = login(client)
    alarm_id = raise_alarm(client)
    assert client.post(f"/api/alarms/{alarm_id}/acknowledge", headers=headers).status_code == 200


def test_device_events_filter_by_gateway_kind_and_window(client: TestClient) -> None:
    from datetime import timedelta

    from protocol import EventBody, EventMessage

    handler = client.app.state.centre.handler  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    for gateway, kind, hours_ago in [
        ("gw-1", "activity", 30),
        ("gw-1", "activity", 2),
        ("gw-1", "device_offline", 1),
        ("gw-2", "activity", 1),
    ]:
        event = EventMessage(
            gateway_id=gateway,
            gateway_time=now - timedelta(hours=hours_ago),
            body=EventBody(kind=kind, detail={"sensor": "motion", "value": 1}),
        )
        handler.handle(f"eldercare/v1/{gateway}/up/event", encode(event))
    headers = login(client)
    since = (now - timedelta(hours=24)).isoformat()
    got = client.get(
        "/api/device-events",
        params={"gateway_id": "gw-1", "kind": "activity", "since": since},
        headers=headers,
    ).json()
    assert [(e["gateway_id"], e["kind"]) for e in got] == [("gw-1", "activity")]
    others = client.get(
        "/api/device-events", params={"exclude_kind": "activity"}, headers=headers
    ).json()
    assert [e["kind"] for e in others] == ["device_offline"]
    naive = client.get(
        "/api/device-events", params={"since": "2026-01-01T00:00:00"}, headers=headers
    )
    assert naive.status_code == 422  # a time without a zone is refused, not guessed
