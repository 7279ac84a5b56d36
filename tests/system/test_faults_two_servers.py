"""Two server processes on one PostgreSQL, sharing the subscription; one is killed (-9)
mid-ingest. Every alarm of a fleet of homes is stored once, by the survivor if need be.

The killed process may have stored an alarm without sending its receipt, or taken it from
the broker without storing it: either way the home resends it, the broker now hands
everything to the survivor, and the alarm's id keeps it single in the shared database.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from firmware_sim.fleet import HomeRates
from sqlalchemy import create_engine, text

from onebox.broker import Broker
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, ServerProcess
from protocol import AlarmKind
from tests.system.conftest import start_fleet

HOMES = 20
PER_HOME = 20


@pytest.fixture
def pair(
    tmp_path: Path, postgres: PostgresCluster
) -> Iterator[tuple[Broker, Accounts, list[ServerProcess]]]:
    accounts = Accounts()
    broker = Broker(tmp_path / "mosquitto", accounts.broker_accounts()).start()
    url = postgres.create_database(f"kill_{secrets.token_hex(4)}")
    password = secrets.token_urlsafe(12)
    servers = [
        ServerProcess(
            tmp_path, broker, accounts, database_url=url, admin_password=password, instance=name
        )
        for name in ("a", "b")
    ]
    try:
        servers[0].start()  # one migrates first; the second finds the schema in place
        servers[1].start()
        yield broker, accounts, servers
    finally:
        for server in servers:
            server.stop()
        broker.stop()
    servers[1].service.assert_clean()


def test_one_of_two_servers_killed_mid_ingest(
    pair: tuple[Broker, Accounts, list[ServerProcess]],
) -> None:
    broker, accounts, (doomed, survivor) = pair
    fleet = start_fleet(
        broker,
        accounts,
        HOMES,
        "pair-",
        rates=HomeRates(heartbeat_s=5),
        resend_s=2.0,
        seed=6,
        generate=False,
    )
    ids = fleet.config.gateway_ids
    try:
        wait_for(lambda: fleet.connected() == HOMES, 30, "every home connected")
        for _ in range(PER_HOME):
            for gid in ids:
                fleet.raise_alarm(gid, AlarmKind.EMERGENCY_CALL)
        total = HOMES * PER_HOME
        wait_for(
            lambda: len(fleet.ledger.alarms) == total and fleet.ledger.unconfirmed() < total * 0.8,
            30,
            "ingest under way",
            step=0.01,
        )
        doomed.service.kill()
        unconfirmed_at_kill = fleet.ledger.unconfirmed()
        wait_for(lambda: fleet.ledger.unconfirmed() == 0, 60, "a receipt for every alarm")
    finally:
        fleet.stop()
    assert unconfirmed_at_kill > 0  # the kill really caught alarms in flight

    # Read the shared database itself: the listing API pages newest first, and the homes'
    # offline wills still add gateway_offline alarms while one would page through it.
    engine = create_engine(survivor.service.env["SERVER_DATABASE_URL"])
    try:
        with engine.connect() as db:
            rows = db.execute(
                text("SELECT id, kind FROM alarms WHERE gateway_id LIKE 'pair-%'")
            ).all()
    finally:
        engine.dispose()
    stored = Counter(row.id for row in rows if row.kind != "gateway_offline")
    assert set(stored) == set(fleet.ledger.alarms)  # none lost, none invented
    assert max(stored.values()) == 1  # none doubled
