"""A real server process on a real PostgreSQL, an alarm from a gateway over the real broker,
and nobody accepts: the engine walks the whole ladder on its own clock, the console's live
stream hears every step, and the operator is alerted at the end."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from onebox.broker import Broker
from onebox.console_client import ConsoleClient, LiveStream
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, ServerProcess
from protocol import Channel, encode
from tests.factories import alarm_message
from tests.server.care_seed import HOME_POSITION, north_of_home
from tests.system.test_alarm_loop import _GatewayClient

GATEWAY = "gw-escalate"
TIMEOUT_S = 1.0


@pytest.fixture
def server(
    tmp_path: Path, broker: Broker, accounts: Accounts, postgres: PostgresCluster
) -> Iterator[ServerProcess]:
    password = secrets.token_urlsafe(12)
    process = ServerProcess(
        tmp_path,
        broker,
        accounts,
        database_url=postgres.create_database(f"ladder_{secrets.token_hex(4)}"),
        admin_password=password,
    )
    process.service.env["SERVER_DISPATCH_TICK_S"] = "0.2"
    process.start()
    yield process
    process.stop()
    process.service.assert_clean()


def _post(console: ConsoleClient, path: str, body: dict[str, Any]) -> Any:
    response = console.http.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _seed(console: ConsoleClient) -> list[int]:
    settings = {
        "notify_timeout_s": TIMEOUT_S,
        "notify_attempts": 2,
        "levels": [{"kinds": ["care_worker"], "responders": 2}],
    }
    org = _post(console, "/api/organisations", {"name": "Test city", "level": "city"})
    put = console.http.put(f"/api/organisations/{org['id']}/dispatch-settings", json=settings)
    assert put.status_code == 200, put.text
    home = {
        "id": "home-escalate",
        "organisation_id": org["id"],
        "address": "1 Test Road",
        "latitude": HOME_POSITION[0],
        "longitude": HOME_POSITION[1],
        "gateway_ids": [GATEWAY],
    }
    _post(console, "/api/homes", home)
    _post(console, "/api/residents", {"home_id": "home-escalate", "name": "Zhang Wei"})
    workers = []
    for name, metres in (("Near", 300), ("Far", 900)):
        body = {
            "name": name,
            "kind": "care_worker",
            "latitude": north_of_home(metres),
            "longitude": HOME_POSITION[1],
        }
        workers.append(_post(console, "/api/responders", body)["id"])
    return workers


def test_alarm_escalates_through_the_ladder_when_nobody_accepts(
    server: ServerProcess, broker: Broker, accounts: Accounts
) -> None:
    console = ConsoleClient(server.url, "operator", server.service.env["SERVER_ADMIN_PASSWORD"])
    stream = LiveStream(server.url, console.token).start()
    gateway = _GatewayClient(broker, accounts, GATEWAY)
    try:
        near, far = _seed(console)
        message = alarm_message(GATEWAY, home_id="declared-by-gateway")
        gateway.publish(Channel.ALARM, encode(message))

        def history() -> list[dict[str, Any]]:
            result: list[dict[str, Any]] = console.get(f"/api/alarms/{message.id}/history")
            return result

        wait_for(
            lambda: any(h["action"] == "operator_alerted" for h in _maybe(history)),
            30,
            "the operator alerted",
        )
        steps = [(h["action"], h["responder_id"]) for h in history()]
        assert steps == [
            ("raised", None),
            ("dispatched", near),
            ("renotified", near),
            ("dispatched", far),
            ("renotified", far),
            ("operator_alerted", None),
        ]
        times = [datetime.fromisoformat(h["at"]) for h in history()[1:]]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert all(gap >= TIMEOUT_S for gap in gaps), gaps  # each waited for its answer
        alarm = console.get(f"/api/alarms/{message.id}")
        assert (alarm["home_id"], alarm["state"], alarm["escalation_state"]) == (
            "home-escalate",
            "dispatched",
            "exhausted",
        )
        assert alarm["status"] == "open"  # no operator has taken it yet: still in the queue
        assert stream.wait_for(
            lambda events: (
                [e.type for e in events if e.data["alarm"]["id"] == message.id]
                == [
                    "alarm.raised",
                    "alarm.dispatched",
                    "alarm.renotified",
                    "alarm.dispatched",
                    "alarm.renotified",
                    "alarm.escalated",
                ]
            ),
            10,
        ), [e.type for e in stream.events]
    finally:
        gateway.client.disconnect()
        stream.stop()
        console.close()


def _maybe(read: Any) -> list[dict[str, Any]]:
    """The alarm's history, or nothing while the alarm has not arrived yet."""
    try:
        result: list[dict[str, Any]] = read()
    except httpx.HTTPStatusError:  # 404 until the alarm is stored
        return []
    return result
