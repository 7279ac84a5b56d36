"""Two server processes on one PostgreSQL, sharing the broker subscription: each stores part
of the alarms, and a console on either sees every alarm exactly once."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from onebox.broker import Broker
from onebox.console_client import ConsoleClient, LiveStream
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, ServerProcess
from protocol import Channel, encode
from tests.system.test_alarm_loop import _alarm, _GatewayClient

ALARMS = 20


@pytest.fixture
def two_servers(
    tmp_path: Path, broker: Broker, accounts: Accounts, postgres: PostgresCluster
) -> Iterator[list[ServerProcess]]:
    url = postgres.create_database(f"pair_{secrets.token_hex(4)}")
    password = secrets.token_urlsafe(12)
    servers = [
        ServerProcess(
            tmp_path, broker, accounts, database_url=url, admin_password=password, instance=name
        )
        for name in ("a", "b")
    ]
    for server in servers:
        server.service.start()  # both at once: migrations must not trip over each other
    try:
        for server in servers:
            wait_for(server._ready, 60, f"server {server.url}")
        yield servers
    finally:
        for server in servers:
            server.stop()
    for server in servers:
        server.service.assert_clean()


def test_each_console_sees_every_alarm_once_whichever_process_stored_it(
    two_servers: list[ServerProcess], broker: Broker, accounts: Accounts
) -> None:
    consoles, streams = [], []
    for server in two_servers:
        # The operator account exists once in the shared database; the password was given.
        password = server.service.env["SERVER_ADMIN_PASSWORD"]
        console = ConsoleClient(server.url, "operator", password)
        consoles.append(console)
        streams.append(LiveStream(server.url, console.token).start())
    gw = _GatewayClient(broker, accounts, "gw-pair")
    try:
        sent = [_alarm("gw-pair") for _ in range(ALARMS)]
        for message in sent:
            gw.publish(Channel.ALARM, encode(message))
        ids = {m.id for m in sent}
        for stream in streams:
            assert stream.wait_for(
                lambda events: (
                    {e.data["alarm"]["id"] for e in events if e.type == "alarm.raised"} >= ids
                ),
                20,
            )
            # Only this gateway's: the session's broker also holds other tests' retained wills,
            # which rightly raise gateway-offline alarms here.
            raised = [
                e.data["alarm"]["id"]
                for e in stream.alarms_raised()
                if e.data["alarm"]["gateway_id"] == "gw-pair"
            ]
            assert sorted(raised) == sorted(ids)  # every alarm, none twice
        # The broker split the work: both processes stored some.
        stored = [
            s.service.log_path.read_text().count("stored: emergency_call") for s in two_servers
        ]
        assert sum(stored) == ALARMS
        assert all(count > 0 for count in stored), stored

        # An acknowledgement on one process reaches the console on the other.
        target = sent[0].id
        consoles[0].acknowledge(target)
        assert streams[1].wait_for(
            lambda events: any(
                e.type == "alarm.acknowledged" and e.data["alarm"]["id"] == target for e in events
            ),
            10,
        )
    finally:
        gw.close()
        for stream in streams:
            stream.stop()
        for console in consoles:
            console.close()
