"""Provisioning on real components, on SQLite and on PostgreSQL: a centre's own mosquitto
(stopped and started here), the server with the broker's password file, a gateway process, a
Zigbee2MQTT SOS button.

An installer registers a gateway through the API; the gateway runs with the password it was
given; a configuration adding a Zigbee button in a room is pushed and applied without a
restart (the button's press raises an alarm from it, with its room); the gateway restarted
while the centre's broker is down still runs that configuration; a revoked gateway can no
longer connect. Edits to the resident's record that change what the gateway is pushed are
new revisions, applied live. An away period set while the gateway is offline reaches it, and
activity at home ends it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from firmware_sim.zigbee import SosButton, Zigbee2MqttNetwork
from firmware_sim.zigbee_device import ZigbeeDevice

from onebox.broker import Broker, can_log_in
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, GatewayProcess, ServerProcess

PASSWORD = secrets.token_urlsafe(12)
GATEWAY = "gw-prov-1"
HOME = "home-prov-1"


@dataclass
class ProvisioningCentre:
    broker: Broker
    server: ServerProcess
    api: httpx.Client
    pid_file: Path

    def restart_broker(self, gateway_password: str) -> None:
        # onebox writes its password file afresh from its own list at every start; a broker
        # in the field keeps the file the server wrote.
        self.broker.accounts[GATEWAY] = gateway_password
        self.broker.start()
        self.write_pid()

    def write_pid(self) -> None:
        assert self.broker.service is not None
        assert self.broker.service.proc is not None
        self.pid_file.write_text(f"{self.broker.service.proc.pid}\n")


@pytest.fixture(params=["sqlite", "postgresql"])
def centre(
    request: pytest.FixtureRequest, tmp_path: Path, accounts: Accounts
) -> Iterator[ProvisioningCentre]:
    database_url = None
    if request.param == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        database_url = cluster.create_database(f"provisioning_{secrets.token_hex(4)}")
    broker = Broker(tmp_path / "centre-mosquitto", {"server": accounts.server}).start()
    pid_file = tmp_path / "mosquitto.pid"
    server = ServerProcess(
        tmp_path, broker, accounts, database_url=database_url, admin_password=PASSWORD
    )
    server.service.env |= {
        "SERVER_MOSQUITTO_PASSWORD_FILE": str(broker.workdir / "passwd"),
        "SERVER_MOSQUITTO_PID_FILE": str(pid_file),
    }
    made = ProvisioningCentre(
        broker, server, httpx.Client(base_url=server.url, timeout=10), pid_file
    )
    made.write_pid()
    server.start()
    token = made.api.post("/api/auth/login", json={"username": "operator", "password": PASSWORD})
    made.api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    yield made
    made.api.close()
    server.stop()
    broker.stop()
    server.service.assert_clean()


def _call(api: httpx.Client, method: str, path: str, body: Any = None, code: int = 200) -> Any:
    response = api.request(method, path, json=body)
    assert response.status_code == code, response.text
    return response.json() if response.content else None


def _seed_home(api: httpx.Client) -> None:
    city = _call(api, "POST", "/api/organisations", {"name": "City", "level": "city"}, 201)
    home = {
        "id": HOME,
        "organisation_id": city["id"],
        "address": "1 Provisioning Road",
        "latitude": 31.2,
        "longitude": 121.5,
    }
    _call(api, "POST", "/api/homes", home, 201)


def _gateway(
    tmp_path: Path,
    centre: ProvisioningCentre,
    home_broker: Broker,
    accounts: Accounts,
    password: str,
) -> GatewayProcess:
    """The gateway as installed: its id and password, the home broker, no devices at all."""
    gateway = GatewayProcess(
        tmp_path,
        centre.broker,
        accounts,
        gateway_id=GATEWAY,
        home_id=HOME,
        serial_devices={},
        z2m_devices={},
        home_broker=home_broker,
    )
    gateway.service.env |= {"GATEWAY_MQTT_PASSWORD": password, "GATEWAY_Z2M_ENABLED": "true"}
    return gateway


def _online(api: httpx.Client) -> bool:
    return any(
        g["id"] == GATEWAY and g["state"] == "online" for g in _call(api, "GET", "/api/gateways")
    )


def _report(api: httpx.Client) -> dict[str, Any] | None:
    report: dict[str, Any] | None = _call(api, "GET", f"/api/gateways/{GATEWAY}/config")[
        "last_report"
    ]
    return report


def _alarms_from(api: httpx.Client, device_id: str) -> list[dict[str, Any]]:
    return [a for a in _call(api, "GET", "/api/alarms") if a["device_id"] == device_id]


def _room(api: httpx.Client, alarm: dict[str, Any]) -> str:
    room: str = _call(api, "GET", f"/api/alarms/{alarm['id']}")["detail"]["room"]
    return room


def test_a_gateway_is_registered_configured_live_kept_offline_and_revoked(
    tmp_path: Path,
    centre: ProvisioningCentre,
    home_broker: Broker,
    accounts: Accounts,
    zigbee: Zigbee2MqttNetwork,
) -> None:
    api = centre.api
    _seed_home(api)
    credentials = _call(api, "POST", "/api/gateways", {"gateway_id": GATEWAY, "home_id": HOME}, 201)
    password = credentials["password"]
    assert can_log_in(centre.broker.host, centre.broker.port, GATEWAY, password)

    gateway = _gateway(tmp_path, centre, home_broker, accounts, password).start()
    try:
        wait_for(lambda: _online(api), 30, "the provisioned gateway online")

        config = {
            "devices": {
                "sos-prov": {"kind": "sos_button", "transport": "zigbee2mqtt", "room": "hall"}
            },
            "rooms": ["hall"],
        }
        stored = _call(api, "PUT", f"/api/gateways/{GATEWAY}/config", config)
        assert stored["revision"] == 1
        wait_for(lambda: (_report(api) or {}).get("kind") == "config_applied", 30, "config_applied")
        report = _report(api)
        assert report is not None
        assert report["detail"]["revision"] == 1
        assert _call(api, "GET", f"/api/gateways/{GATEWAY}/config")["published_revision"] == 1

        sos = SosButton(zigbee, "sos-prov")
        sos.press()  # a device the gateway was not started with
        wait_for(lambda: bool(_alarms_from(api, "sos-prov")), 30, "the new button's alarm")
        [alarm] = _alarms_from(api, "sos-prov")
        assert alarm["gateway_id"] == GATEWAY
        assert _room(api, alarm) == "hall"
        gateway.stop()

        # The centre's broker is down: the gateway starts on the configuration it kept.
        centre.broker.stop()
        gateway = _gateway(tmp_path, centre, home_broker, accounts, password).start()
        wait_for(
            lambda: (
                "configuration revision 1" in gateway.service.log_path.read_text(errors="replace")
            ),
            30,
            "the gateway to run its stored configuration",
        )
        sos.press()  # queued at the home broker for the gateway's bridge, raised from revision 1
        centre.restart_broker(password)
        wait_for(lambda: len(_alarms_from(api, "sos-prov")) == 2, 60, "the offline press's alarm")
        assert [_room(api, a) for a in _alarms_from(api, "sos-prov")] == ["hall", "hall"]

        # Revoked while connected: mosquitto drops the gateway as it reloads the password
        # file, and refuses the password from then on.
        wait_for(lambda: _online(api), 30, "the gateway back online")
        cut_off = gateway.service.log_path.read_text().count("disconnected from the centre")
        _call(api, "DELETE", f"/api/gateways/{GATEWAY}", code=204)
        wait_for(
            lambda: (
                gateway.service.log_path.read_text().count("disconnected from the centre") > cut_off
            ),
            10,
            "the revoked gateway cut off",
        )
        assert not can_log_in(centre.broker.host, centre.broker.port, GATEWAY, password)
    finally:
        gateway.stop()
    assert not [p for p in gateway.service.problems() if "Traceback" in p], gateway.service.log_path
    assert _call(api, "GET", f"/api/gateways/{GATEWAY}/config")["revoked_at"] is not None


def _applied(api: httpx.Client, revision: int) -> bool:
    report = _report(api) or {}
    return report.get("kind") == "config_applied" and report["detail"]["revision"] == revision


def _pushed(api: httpx.Client) -> dict[str, Any]:
    setup: dict[str, Any] = _call(api, "GET", f"/api/gateways/{GATEWAY}/config")
    return setup


def test_resident_edits_push_the_home_configuration_again(
    tmp_path: Path, centre: ProvisioningCentre, home_broker: Broker, accounts: Accounts
) -> None:
    """The care record is the authority on the resident: a change to what the gateway is
    pushed (the dementia group, the check-in time) is the next revision, published and
    applied live; a change to anything else is not."""
    api = centre.api
    _seed_home(api)
    password = _call(api, "POST", "/api/gateways", {"gateway_id": GATEWAY, "home_id": HOME}, 201)[
        "password"
    ]
    gateway = _gateway(tmp_path, centre, home_broker, accounts, password).start()
    try:
        wait_for(lambda: _online(api), 30, "the provisioned gateway online")
        entered = {"rooms": ["bedroom"], "resident": {"checkin_due": "08:00"}}
        assert _call(api, "PUT", f"/api/gateways/{GATEWAY}/config", entered)["revision"] == 1
        wait_for(lambda: _applied(api, 1), 30, "revision 1 applied")

        resident = {"home_id": HOME, "name": "Li Hua", "priority_groups": ["living_alone"]}
        rid = _call(api, "POST", "/api/residents", resident, 201)["id"]
        assert _pushed(api)["revision"] == 1  # nothing pushed changes

        edits: list[tuple[dict[str, Any], dict[str, Any]]] = [
            ({"priority_groups": ["dementia"]}, {"dementia": True, "checkin_due": "08:00"}),
            ({"priority_groups": ["dementia"], "checkin_due": "09:30"}, {"checkin_due": "09:30"}),
            ({"checkin_due": "09:30"}, {"dementia": False}),  # the installer's entry again
        ]
        for revision, (edit, expected) in enumerate(edits, start=2):
            _call(api, "PUT", f"/api/residents/{rid}", resident | edit)
            pushed = _pushed(api)
            assert pushed["revision"] == revision
            assert pushed["config"]["resident"] | expected == pushed["config"]["resident"]
            assert pushed["config"]["rooms"] == ["bedroom"]  # the installer's entry kept
            wait_for(partial(_applied, api, revision), 30, f"revision {revision} applied")
            report = _report(api)
            assert report is not None
            assert report["detail"]["changed"] == "resident"
            assert pushed["published_revision"] == revision

        renamed = resident | {"checkin_due": "09:30", "name": "Li Hua (Mrs)"}
        _call(api, "PUT", f"/api/residents/{rid}", renamed)
        assert _pushed(api)["revision"] == 4  # the name is not pushed

        _call(api, "DELETE", f"/api/residents/{rid}", code=204)
        pushed = _pushed(api)
        assert (pushed["revision"], pushed["config"]["resident"]["checkin_due"]) == (5, "08:00")
        wait_for(lambda: _applied(api, 5), 30, "revision 5 applied")
        audit = _call(api, "GET", f"/api/audit?entity=gateway&entity_id={GATEWAY}")["items"]
        reasons = [e["detail"].get("reason") for e in audit if e["action"] == "configure"]
        assert reasons == ["care record"] * 4 + [None]  # newest first; revision 1 was entered
    finally:
        gateway.stop()
    assert not [p for p in gateway.service.problems() if "Traceback" in p], gateway.service.log_path


def _away_ended(api: httpx.Client) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = _call(
        api, "GET", f"/api/device-events?gateway_id={GATEWAY}&kind=away_ended"
    )
    return events


def test_away_now_reaches_an_offline_gateway_and_activity_ends_it(
    tmp_path: Path,
    centre: ProvisioningCentre,
    home_broker: Broker,
    accounts: Accounts,
    zigbee: Zigbee2MqttNetwork,
) -> None:
    """ "Away now" set while the gateway is down is applied when it comes back (retained);
    the hall PIR seeing somebody then ends the period at the gateway, which tells the centre."""
    api = centre.api
    _seed_home(api)
    password = _call(api, "POST", "/api/gateways", {"gateway_id": GATEWAY, "home_id": HOME}, 201)[
        "password"
    ]
    pir = {"kind": "motion_sensor", "transport": "zigbee2mqtt", "room": "hall"}
    entered = {"devices": {"pir-hall": pir}, "rooms": ["hall"]}
    assert _call(api, "PUT", f"/api/gateways/{GATEWAY}/config", entered)["revision"] == 1
    rid = _call(api, "POST", "/api/residents", {"home_id": HOME, "name": "Li Hua"}, 201)["id"]
    until = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    away = _call(api, "POST", f"/api/residents/{rid}/away/now", {"until": until, "note": "son's"})
    assert away["away_now"]["note"] == "son's"
    assert _pushed(api)["revision"] == 2  # while no gateway is connected

    gateway = _gateway(tmp_path, centre, home_broker, accounts, password).start()
    try:
        wait_for(lambda: _applied(api, 2), 30, "the away period applied")
        report = _report(api)
        assert report is not None
        assert "away" in report["detail"]["changed"].split(",")
        assert _away_ended(api) == []

        ZigbeeDevice(zigbee, "pir-hall", "motion_sensor").set_active(True)
        wait_for(lambda: bool(_away_ended(api)), 30, "the away_ended event")
        [ended] = _away_ended(api)
        assert ended["detail"]["device"] == "pir-hall"
    finally:
        gateway.stop()
    assert not [p for p in gateway.service.problems() if "Traceback" in p], gateway.service.log_path
