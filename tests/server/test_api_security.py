"""Accounts, scoped roles, the settings admin token, the login rate limit, and 401 on every
route without credentials."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from protocol import AlarmKind
from server.api.deps import current_time
from server.core.config import ServerSettings
from server.core.security import token_digest
from server.db.models import ApiSession
from server.main import create_app
from tests.server.test_api import PASSWORD, login
from tests.server.test_dispatch_api import post, raise_alarm, seed

ADMIN_TOKEN = "automation-token-0123456789abcdef"


def settings(tmp_path: Path, **extra: Any) -> ServerSettings:
    return ServerSettings(
        data_dir=tmp_path,
        mqtt_enabled=False,
        admin_password=PASSWORD,
        dispatch_tick_s=60,
        **extra,
    )


@pytest.fixture
def client(tmp_path: Path, store_url: str | None) -> Iterator[TestClient]:
    with TestClient(create_app(settings(tmp_path, database_url=store_url))) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def account(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, str]:
    """Create an account as admin and log it in."""
    made = post(client, "/api/users", admin, {"password": "long-enough-pw", **body}, 201)
    assert not {"password", "password_hash"} & set(made)
    return login(client, body["username"], "long-enough-pw")


def test_family_sees_only_their_resident_and_its_alarms(client: TestClient) -> None:
    admin = login(client)
    made = seed(client, admin)
    rid = made["resident"]["id"]
    other = post(client, "/api/residents", admin, {"home_id": "home-7", "name": "Neighbour"}, 201)[
        "id"
    ]
    mei = account(client, admin, username="mei", role="family", resident_id=rid)
    alarm_id = raise_alarm(client, AlarmKind.FALL)

    assert client.get(f"/api/residents/{rid}", headers=mei).status_code == 200
    # Another resident, and one that does not exist, look exactly the same: 404.
    for missing in (other, 999_999):
        response = client.get(f"/api/residents/{missing}", headers=mei)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": f"resident {missing} not found"},
        )
    assert [a["id"] for a in client.get("/api/alarms", headers=mei).json()] == [alarm_id]
    assert client.get(f"/api/alarms/{alarm_id}", headers=mei).status_code == 200
    # Nothing else: not the lists, not the other records, not the actions.
    for path in ("/api/residents", "/api/homes", "/api/responders", "/api/stream"):
        assert client.get(path, headers=mei).status_code == 403, path
    assert client.get(f"/api/alarms/{alarm_id}/visit", headers=mei).status_code == 403
    ack = client.post(f"/api/alarms/{alarm_id}/acknowledge", headers=mei)
    assert ack.status_code == 403


def test_family_of_another_resident_sees_no_alarm(client: TestClient) -> None:
    admin = login(client)
    seed(client, admin)
    other = post(client, "/api/residents", admin, {"home_id": "home-7", "name": "Neighbour"}, 201)[
        "id"
    ]
    kin = account(client, admin, username="kin", role="family", resident_id=other)
    alarm_id = raise_alarm(client, AlarmKind.FALL)  # the gateway's home maps to Wang Lan
    assert client.get("/api/alarms", headers=kin).json() == []
    assert client.get(f"/api/alarms/{alarm_id}", headers=kin).status_code == 404
    assert client.get(f"/api/alarms/{alarm_id}/history", headers=kin).status_code == 404


def test_responder_acts_only_on_alarms_dispatched_to_them(client: TestClient) -> None:
    admin = login(client)
    made = seed(client, admin)
    far, near, _ = (w["id"] for w in made["workers"])
    nora = account(client, admin, username="nora", role="responder", responder_id=near)
    fred = account(client, admin, username="fred", role="responder", responder_id=far)
    alarm_id = raise_alarm(client, AlarmKind.FALL)
    path = f"/api/alarms/{alarm_id}"
    assert client.get(path, headers=nora).status_code == 404  # not dispatched yet
    post(client, f"{path}/dispatch", admin, {"responder_id": near})

    assert client.get(path, headers=fred).status_code == 404
    assert client.get("/api/alarms", headers=fred).json() == []
    refused = client.post(f"{path}/answer/accept", json={"responder_id": near}, headers=fred)
    assert refused.status_code == 404
    # Nora answers only as herself.
    as_fred = client.post(f"{path}/answer/accept", json={"responder_id": far}, headers=nora)
    assert as_fred.status_code == 403
    assert post(client, f"{path}/answer/accept", nora, {"responder_id": near})["state"] == (
        "accepted"
    )
    visit = client.get(f"{path}/visit", headers=nora).json()
    assert (visit["name"], visit["address"]) == ("Wang Lan", "7 Renmin Avenue")
    assert not {"contacts", "priority_groups"} & set(visit)
    assert post(client, f"{path}/progress/en_route", nora, None)["state"] == "en_route"
    assert post(client, f"{path}/progress/on_scene", nora, None)["state"] == "on_scene"
    done = post(client, f"{path}/resolve", nora, {"outcome": "real_emergency"})
    assert done["state"] == "resolved"
    # Not the care records, not other actions.
    assert client.get(f"/api/residents/{made['resident']['id']}", headers=nora).status_code == 403
    assert client.post(f"{path}/notes", json={"note": "x"}, headers=nora).status_code == 403
    own = client.post(f"/api/responders/{near}/status", json={"status": "available"}, headers=nora)
    assert own.status_code == 200
    theirs = client.post(f"/api/responders/{far}/status", json={"status": "off_duty"}, headers=nora)
    assert theirs.status_code == 403


def test_accounts_are_admin_only_checked_and_disabled_at_once(client: TestClient) -> None:
    admin = login(client)
    made = seed(client, admin)
    li = account(client, admin, username="li", role="operator")
    assert client.get("/api/users", headers=li).status_code == 403
    new = {"username": "x", "password": "long-enough-pw", "role": "admin"}
    assert client.post("/api/users", json=new, headers=li).status_code == 403
    # The link must fit the role and exist.
    bad = [
        ({"role": "family"}, 409),
        ({"role": "operator", "resident_id": made["resident"]["id"]}, 409),
        ({"role": "family", "resident_id": 999_999}, 404),
        ({"role": "family", "resident_id": made["resident"]["id"], "password": "short"}, 422),
    ]
    for extra, code in bad:
        body = {"username": "bad", "password": "long-enough-pw", **extra}
        assert client.post("/api/users", json=body, headers=admin).status_code == code, extra
    listed = client.get("/api/users", headers=admin).json()
    assert [u["username"] for u in listed["items"]] == ["operator", "li"]
    assert all("password_hash" not in u for u in listed["items"])
    li_id = listed["items"][1]["id"]
    changed = client.patch(f"/api/users/{li_id}", json={"active": False}, headers=admin)
    assert changed.json()["active"] is False
    assert client.get("/api/auth/me", headers=li).status_code == 401
    assert client.post("/api/auth/login", json={"username": "li", "password": "long-enough-pw"})
    me = client.get("/api/auth/me", headers=admin).json()
    own_id = listed["items"][0]["id"]
    assert me["role"] == "admin"
    last_admin = client.patch(f"/api/users/{own_id}", json={"role": "operator"}, headers=admin)
    assert last_admin.status_code == 409


def test_me_lists_what_the_account_may_do(client: TestClient) -> None:
    """The console hides what would be refused: delivery records from an operator."""
    admin = login(client)
    li = account(client, admin, username="li", role="operator")
    operator = client.get("/api/auth/me", headers=li).json()["permissions"]
    assert "set_away" in operator
    assert "read_notifications" not in operator
    assert "read_notifications" in client.get("/api/auth/me", headers=admin).json()["permissions"]


def test_settings_admin_token_is_stored_hashed_idempotent_and_replaced(tmp_path: Path) -> None:
    def token_rows(app_settings: ServerSettings, probe: str) -> list[tuple[str, str | None]]:
        app = create_app(app_settings)
        with TestClient(app) as test_client:
            assert test_client.get("/api/users", headers=bearer(probe)).status_code == 200
            with app.state.centre.sessions() as session:
                rows = session.scalars(select(ApiSession).where(ApiSession.origin.is_not(None)))
                return [(r.token_hash, r.origin) for r in rows]

    first = token_rows(settings(tmp_path, admin_token=ADMIN_TOKEN), ADMIN_TOKEN)
    assert first == [(token_digest(ADMIN_TOKEN), "settings")]
    assert token_rows(settings(tmp_path, admin_token=ADMIN_TOKEN), ADMIN_TOKEN) == first
    changed = ADMIN_TOKEN[::-1]
    assert token_rows(settings(tmp_path, admin_token=changed), changed) == [
        (token_digest(changed), "settings")
    ]
    with TestClient(create_app(settings(tmp_path, admin_token=changed))) as test_client:
        assert test_client.get("/api/users", headers=bearer(ADMIN_TOKEN)).status_code == 401
    with TestClient(create_app(settings(tmp_path))) as test_client:  # unset: gone
        assert test_client.get("/api/users", headers=bearer(changed)).status_code == 401


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_login_failures_are_limited_per_username_and_address(client: TestClient) -> None:
    now = [datetime(2026, 11, 23, 8, 0, tzinfo=UTC)]
    client.app.dependency_overrides[current_time] = lambda: now[0]  # type: ignore[attr-defined]

    def attempt(username: str, password: str = "wrong") -> tuple[int, str | None]:
        response = client.post("/api/auth/login", json={"username": username, "password": password})
        return response.status_code, response.headers.get("retry-after")

    for second in range(5):
        now[0] += timedelta(seconds=1)
        assert attempt("operator") == (401, None), second
    assert attempt("operator") == (429, "56")
    # Even the right password is refused unseen while the limit holds.
    assert attempt("operator", PASSWORD) == (429, "56")
    # The address is limited too: another username from it is refused as well.
    assert attempt("someone-else")[0] == 429
    now[0] += timedelta(seconds=56)
    assert attempt("operator", PASSWORD) == (200, None)


def test_every_api_route_needs_credentials(tmp_path: Path) -> None:
    """Walk the OpenAPI: every operation under /api answers 401 without credentials,
    except logging in and the health check."""
    open_routes = {("post", "/api/auth/login"), ("get", "/api/health")}
    with TestClient(create_app(settings(tmp_path))) as test_client:
        schema = test_client.get("/openapi.json").json()
        checked = 0
        for path, operations in schema["paths"].items():
            for method in operations:
                if (method, path) in open_routes or not path.startswith("/api"):
                    continue
                url = path.replace("{alarm_id}", "a" * 32)
                url = url.replace("{", "").replace("}", "")  # other ids: the name is a value
                response = test_client.request(method, url)
                assert response.status_code == 401, (method, path, response.text)
                checked += 1
        assert checked >= 40
