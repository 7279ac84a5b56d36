"""A family member cannot read another resident: a real server process on a real PostgreSQL,
alarms from two homes over the real broker, every account made through the API by the
automation admin (``SERVER_ADMIN_TOKEN``), and the family member logged in with a password.

The policy under test (``server/api/permissions.py``): what the family role is not granted at
all is 403 for any record; a record of its kind that is not its own is 404, exactly as if it
did not exist; a listing holds its own rows only; every read of a resident's record is in the
audit log.
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

from onebox.broker import Broker
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, ServerProcess
from protocol import Channel, encode
from tests.factories import alarm_message
from tests.system.test_alarm_loop import _GatewayClient

ADMIN_TOKEN = secrets.token_urlsafe(32)
FAMILY_PASSWORD = secrets.token_urlsafe(16)


@pytest.fixture
def server(
    tmp_path: Path, broker: Broker, accounts: Accounts, postgres: PostgresCluster
) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path,
        broker,
        accounts,
        database_url=postgres.create_database(f"family_{secrets.token_hex(4)}"),
    )
    process.service.env["SERVER_ADMIN_TOKEN"] = ADMIN_TOKEN
    process.start()
    yield process
    process.stop()
    process.service.assert_clean()


@dataclass
class Household:
    """One home with its gateway, its resident and the alarms raised from it (oldest first)."""

    home_id: str
    gateway_id: str
    resident_id: int
    alarm_ids: list[str]

    @property
    def alarm_id(self) -> str:
        return self.alarm_ids[0]


def _call(api: httpx.Client, method: str, path: str, body: Any = None, code: int = 200) -> Any:
    response = api.request(method, path, json=body)
    assert response.status_code == code, f"{method} {path}: {response.text}"
    return response.json() if response.content else None


def _household(
    admin: httpx.Client, broker: Broker, accounts: Accounts, organisation: int, name: str
) -> Household:
    home_id, gateway_id = f"home-{name}", f"gw-family-{name}-{secrets.token_hex(3)}"
    home = {
        "id": home_id,
        "organisation_id": organisation,
        "address": f"{name} Road 1",
        "latitude": 31.2,
        "longitude": 121.5,
        "gateway_ids": [gateway_id],
    }
    _call(admin, "POST", "/api/homes", home, 201)
    resident = _call(admin, "POST", "/api/residents", {"home_id": home_id, "name": name}, 201)
    gateway = _GatewayClient(broker, accounts, gateway_id)
    messages = [alarm_message(gateway_id, home_id=home_id, frame_seq=n) for n in (1, 2)]
    try:
        for message in messages:
            gateway.publish(Channel.ALARM, encode(message))
    finally:
        gateway.close()
    for message in messages:
        wait_for(partial(_stored, admin, message.id), 30, f"{name}'s alarm {message.id}")
    return Household(home_id, gateway_id, resident["id"], [m.id for m in messages])


def _stored(admin: httpx.Client, alarm_id: str) -> bool:
    return admin.get(f"/api/alarms/{alarm_id}").status_code == 200


def _log_in(url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    token = _call(client, "POST", "/api/auth/login", {"username": username, "password": password})
    client.headers["Authorization"] = f"Bearer {token['access_token']}"
    return client


def _every_page(client: httpx.Client, url: str) -> set[str]:
    """Every alarm id of a listing, following its ``Link: rel=next`` cursor."""
    seen: set[str] = set()
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        seen |= {x["id"] for x in response.json()}
        url = response.links.get("next", {}).get("url", "")
    return seen


def _reads_of(admin: httpx.Client, resident_id: int, actor: str) -> list[dict[str, Any]]:
    entries = _call(
        admin, "GET", f"/api/audit?entity=resident&entity_id={resident_id}&actor={actor}&limit=500"
    )["items"]
    return [e for e in entries if e["action"] == "read"]


def test_a_family_member_reads_their_resident_and_nobody_else(
    server: ServerProcess, broker: Broker, accounts: Accounts
) -> None:
    admin = httpx.Client(
        base_url=server.url, timeout=10, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    family: httpx.Client | None = None
    try:
        city = _call(admin, "POST", "/api/organisations", {"name": "City", "level": "city"}, 201)
        a = _household(admin, broker, accounts, city["id"], "alder")
        b = _household(admin, broker, accounts, city["id"], "birch")
        assert _call(admin, "GET", f"/api/alarms/{a.alarm_id}")["resident_id"] == a.resident_id
        assert _call(admin, "GET", f"/api/alarms/{b.alarm_id}")["resident_id"] == b.resident_id
        account = {
            "username": "alder-daughter",
            "password": FAMILY_PASSWORD,
            "role": "family",
            "resident_id": a.resident_id,
        }
        _call(admin, "POST", "/api/users", account, 201)
        family = _log_in(server.url, "alder-daughter", FAMILY_PASSWORD)

        # Their own resident: the record, the alarm and its history.
        assert _call(family, "GET", f"/api/residents/{a.resident_id}")["name"] == "alder"
        assert _call(family, "GET", f"/api/alarms/{a.alarm_id}")["home_id"] == a.home_id
        assert _call(family, "GET", f"/api/alarms/{a.alarm_id}/history")[0]["action"] == "raised"
        # The listing holds their resident's rows only, filtered or not, page by page.
        for query in ("", "?status=open", "?state=raised", "?limit=1000"):
            listed = _call(family, "GET", f"/api/alarms{query}")
            assert {x["id"] for x in listed} == set(a.alarm_ids), query
        assert _every_page(family, "/api/alarms?limit=1") == set(a.alarm_ids)

        # Another resident's records of a kind the family role reads: as if they did not exist.
        for path in (
            f"/api/residents/{b.resident_id}",
            f"/api/alarms/{b.alarm_id}",
            f"/api/alarms/{b.alarm_id}/history",
        ):
            assert family.get(path).status_code == 404, path
        unknown = b.resident_id + 1000
        assert family.get(f"/api/residents/{unknown}").json() == {
            "detail": f"resident {unknown} not found"
        }
        assert family.get(f"/api/residents/{b.resident_id}").json() == {
            "detail": f"resident {b.resident_id} not found"
        }

        # What the family role is not granted at all, for B and for their own alike.
        an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        for path in (
            f"/api/homes/{b.home_id}",
            f"/api/homes/{a.home_id}",
            "/api/homes",
            "/api/residents",
            f"/api/residents?home_id={b.home_id}",
            f"/api/device-events?gateway_id={b.gateway_id}",
            "/api/device-events",
            "/api/gateways",
            f"/api/telemetry/series?gateway_id={b.gateway_id}&measurement=vitals"
            f"&field=heart_rate&start={an_hour_ago}",
            f"/api/telemetry/latest?measurement=vitals&field=heart_rate&gateway_id={b.gateway_id}",
            f"/api/alarms/{b.alarm_id}/visit",
            f"/api/alarms/{b.alarm_id}/suggestions",
            f"/api/alarms/{a.alarm_id}/deliveries",
            f"/api/alarms/{b.alarm_id}/deliveries",
            "/api/notification-deliveries",
            "/api/notification-channels",
            "/api/service-orders",
            "/api/responders",
            "/api/audit",
            "/api/users",
            "/api/reports",
            "/api/stream",
        ):
            response = family.get(path, params={} if "?" in path else None)
            assert response.status_code == 403, f"{path}: {response.status_code}"
        # Away periods: their own resident's are theirs to read and set; another's is missing.
        assert family.get(f"/api/residents/{b.resident_id}/away").status_code == 404
        assert family.post(f"/api/residents/{b.resident_id}/away/back").status_code == 404
        # Nor may they change anything, their own resident's included.
        assert family.post(f"/api/alarms/{a.alarm_id}/acknowledge").status_code == 403
        assert family.post(f"/api/alarms/{b.alarm_id}/acknowledge").status_code == 403
        replace = {"home_id": a.home_id, "name": "renamed"}
        assert family.put(f"/api/residents/{a.resident_id}", json=replace).status_code == 403

        # Every read of a resident's record is in the audit log, with who read it.
        assert len(_reads_of(admin, a.resident_id, "alder-daughter")) == 1
        assert _reads_of(admin, b.resident_id, "alder-daughter") == []
        _call(admin, "GET", "/api/residents")
        for resident_id in (a.resident_id, b.resident_id):
            [listed] = _reads_of(admin, resident_id, "automation")
            assert listed["detail"] == {"via": "list"}
    finally:
        admin.close()
        if family is not None:
            family.close()
