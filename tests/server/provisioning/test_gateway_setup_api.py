"""Provisioning through the API: register (credentials shown once), rotate, revoke, and the
home configuration stored with growing revisions; who may do it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.core.config import ServerSettings
from server.crud.users import create_user
from server.db.provisioning_models import GatewayRegistration
from server.main import create_app
from server.provisioning import BrokerAccountError
from tests.server.care_seed import seed_district
from tests.server.test_api import PASSWORD, login

CONFIG: dict[str, Any] = {
    "devices": {
        "btn-1": {"kind": "call_button", "transport": "serial", "port": "/dev/ttyUSB0"},
        "sos-1": {"kind": "sos_button", "transport": "zigbee2mqtt", "room": "hall"},
    },
    "rooms": ["hall"],
    "resident": {"checkin_due": "09:30", "timezone": "Asia/Shanghai"},
    "heartbeat_interval_s": 60,
}


@dataclass
class FakeAccounts:
    passwords: dict[str, str] = field(default_factory=dict)
    fail: bool = False

    def set_password(self, username: str, password: str) -> None:
        if self.fail:
            raise BrokerAccountError("password file not writable")
        self.passwords[username] = password

    def remove(self, username: str) -> None:
        self.passwords.pop(username, None)


@dataclass
class Rig:
    client: TestClient
    accounts: FakeAccounts
    admin: dict[str, str]
    home_id: str


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    settings = ServerSettings(
        data_dir=tmp_path, mqtt_enabled=False, admin_password=PASSWORD, dispatch_tick_s=60
    )
    with TestClient(create_app(settings)) as client:
        centre = client.app.state.centre  # type: ignore[attr-defined]
        accounts = FakeAccounts()
        centre.accounts = accounts
        with centre.sessions.begin() as session:
            district = seed_district(session, gateway_id="gw-old")  # a resident with dementia
            for role in ("installer", "operator"):
                create_user(session, f"{role}-1", PASSWORD, role, datetime.now(UTC))
        yield Rig(client, accounts, login(client), district.home_id)


def _register(rig: Rig, gateway_id: str = "gw-new", code: int = 201) -> Any:
    response = rig.client.post(
        "/api/gateways", json={"gateway_id": gateway_id, "home_id": rig.home_id}, headers=rig.admin
    )
    assert response.status_code == code, response.text
    return response.json()


def test_registering_issues_a_strong_password_once_and_stores_none(rig: Rig) -> None:
    credentials = _register(rig)
    assert credentials["username"] == "gw-new"
    assert len(credentials["password"]) >= 40
    assert rig.accounts.passwords == {"gw-new": credentials["password"]}
    setup = rig.client.get("/api/gateways/gw-new/config", headers=rig.admin).json()
    assert credentials["password"] not in str(setup)
    with rig.client.app.state.centre.sessions() as session:  # type: ignore[attr-defined]
        row = session.get(GatewayRegistration, "gw-new")
        assert row is not None
        assert credentials["password"] not in str(vars(row))
    homes = rig.client.get("/api/homes", headers=rig.admin).json()["items"]
    assert "gw-new" in homes[0]["gateway_ids"]  # its alarms find their home


def test_a_registered_gateway_is_not_registered_twice_and_ids_are_checked(rig: Rig) -> None:
    _register(rig)
    _register(rig, code=409)
    _register(rig, "server", code=422)  # a reserved broker account
    _register(rig, "GW 1", code=422)


def test_rotation_replaces_the_password_and_revocation_removes_the_account(rig: Rig) -> None:
    first = _register(rig)["password"]
    rotated = rig.client.post("/api/gateways/gw-new/credentials", headers=rig.admin)
    assert rotated.status_code == 200
    assert rig.accounts.passwords["gw-new"] == rotated.json()["password"] != first
    assert rig.client.delete("/api/gateways/gw-new", headers=rig.admin).status_code == 204
    assert rig.accounts.passwords == {}
    assert rig.client.post("/api/gateways/gw-new/credentials", headers=rig.admin).status_code == 404
    again = _register(rig)  # the same box, registered anew
    assert rig.accounts.passwords == {"gw-new": again["password"]}


def test_a_broker_that_cannot_take_the_account_leaves_nothing_registered(rig: Rig) -> None:
    rig.accounts.fail = True
    _register(rig, code=503)
    assert rig.client.get("/api/gateways/gw-new/config", headers=rig.admin).status_code == 404


def test_each_config_is_a_new_revision_with_the_residents_dementia(rig: Rig) -> None:
    _register(rig)
    first = rig.client.put("/api/gateways/gw-new/config", json=CONFIG, headers=rig.admin)
    assert first.status_code == 200, first.text
    second = rig.client.put("/api/gateways/gw-new/config", json=CONFIG, headers=rig.admin).json()
    assert (first.json()["revision"], second["revision"]) == (1, 2)
    assert second["published_revision"] == 0  # no broker here; the catch-up publishes it
    config = second["config"]
    assert config["home_id"] == rig.home_id
    assert config["resident"]["dementia"] is True  # from the care record
    assert config["devices"]["sos-1"]["room"] == "hall"
    assert second["last_report"] is None


@pytest.mark.parametrize(
    "change",
    [
        {"rooms": []},  # sos-1's room not listed
        {"devices": {"btn-1": {"kind": "call_button", "transport": "serial"}}},  # no port
        {"resident": {"timezone": "Nowhere/Atlantis"}},
        {"revision": 7},  # the centre owns the revision
    ],
)
def test_a_malformed_config_is_refused_before_it_is_stored(
    rig: Rig, change: dict[str, Any]
) -> None:
    _register(rig)
    response = rig.client.put(
        "/api/gateways/gw-new/config", json=CONFIG | change, headers=rig.admin
    )
    assert response.status_code == 422
    assert rig.client.get("/api/gateways/gw-new/config", headers=rig.admin).json()["revision"] == 0


def test_installers_provision_and_operators_do_not(rig: Rig) -> None:
    installer = login(rig.client, "installer-1")
    operator = login(rig.client, "operator-1")
    body = {"gateway_id": "gw-new", "home_id": rig.home_id}
    assert rig.client.post("/api/gateways", json=body, headers=operator).status_code == 403
    assert rig.client.post("/api/gateways", json=body, headers=installer).status_code == 201
    assert rig.client.get("/api/homes", headers=installer).status_code == 200
    assert rig.client.get("/api/alarms", headers=installer).status_code == 403


def test_without_a_password_file_the_centre_issues_no_credentials(rig: Rig) -> None:
    rig.client.app.state.centre.accounts = None  # type: ignore[attr-defined]
    assert _register(rig, code=409)["detail"].startswith("this centre issues no broker")


def test_a_resident_moving_out_pushes_the_home_it_left_again(rig: Rig) -> None:
    """Both homes of a move are refreshed: the one left loses the resident's dementia
    profile at once (a new revision), not at the installer's next edit."""
    _register(rig)
    put = rig.client.put("/api/gateways/gw-new/config", json=CONFIG, headers=rig.admin)
    assert put.json()["config"]["resident"]["dementia"] is True
    home = rig.client.get(f"/api/homes/{rig.home_id}", headers=rig.admin).json()
    other = {**home, "id": "home-elsewhere", "gateway_ids": []}
    other.pop("created_at")
    assert rig.client.post("/api/homes", json=other, headers=rig.admin).status_code == 201
    listed = rig.client.get(f"/api/residents?home_id={rig.home_id}", headers=rig.admin).json()
    [resident] = listed["items"]
    moved = {k: v for k, v in resident.items() if k not in ("id", "created_at")}
    moved["home_id"] = "home-elsewhere"
    response = rig.client.put(f"/api/residents/{resident['id']}", json=moved, headers=rig.admin)
    assert response.status_code == 200, response.text

    setup = rig.client.get("/api/gateways/gw-new/config", headers=rig.admin).json()
    assert (setup["revision"], setup["config"]["resident"]["dementia"]) == (2, False)
    assert setup["config"]["resident"]["checkin_due"] == "09:30"  # the installer's entry
    assert setup["config"]["devices"] == put.json()["config"]["devices"]
