"""Cloud fall detection with two server processes on one PostgreSQL: exactly one of them (the
holder of the advisory lock) subscribes to the wearables' samples, so a fall is one alarm.
The leader is killed (-9) while a fall is held: the other takes over, sends that held fall
when its window ends (read back from SQL, once), and detects the next fall itself.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from firmware_sim.cloud_wearable import CloudWearable
from sqlalchemy import create_engine, text

from onebox.broker import Broker
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, ServerProcess
from protocol.mqtt import BrokerEndpoint
from tests.system.test_fall_loop import recording

WINDOW_S = 5.0  # long enough to kill the leader inside it
LEADS = "this server process now runs cloud fall detection"
WEARABLE = "wear-pair"


@pytest.fixture
def rig(
    tmp_path: Path, postgres: PostgresCluster
) -> Iterator[tuple[list[ServerProcess], CloudWearable]]:
    accounts = Accounts()
    broker = Broker(tmp_path / "mosquitto", accounts.broker_accounts()).start()
    broker.add_account(WEARABLE, accounts.for_gateway(WEARABLE))
    url = postgres.create_database(f"cloudpair_{secrets.token_hex(4)}")
    password = secrets.token_urlsafe(12)
    servers = [
        ServerProcess(
            tmp_path,
            broker,
            accounts,
            database_url=url,
            admin_password=password,
            instance=name,
            settings={"SERVER_CLOUD_FALL_CANCEL_WINDOW_S": str(WINDOW_S)},
        )
        for name in ("a", "b")
    ]
    endpoint = BrokerEndpoint(broker.host, broker.port, WEARABLE, accounts.for_gateway(WEARABLE))
    wearable = CloudWearable(endpoint, "home-pair")
    try:
        for server in servers:
            server.start()
        wearable.start()
        assert wearable.connected.wait(10)
        yield servers, wearable
    finally:
        wearable.stop()
        for server in servers:
            server.stop()
        broker.stop()


def log_of(server: ServerProcess) -> str:
    return server.service.log_path.read_text(errors="replace")


def leaders(servers: list[ServerProcess]) -> list[ServerProcess]:
    return [s for s in servers if LEADS in log_of(s)]


def stored_falls(server: ServerProcess) -> Counter[str]:
    """Fall alarm ids of the wearable in the shared database, with how often each is stored."""
    engine = create_engine(server.service.env["SERVER_DATABASE_URL"])
    try:
        with engine.connect() as db:
            rows = db.execute(
                text("SELECT id FROM alarms WHERE kind = 'fall' AND device_id = :d"),
                {"d": WEARABLE},
            ).all()
    finally:
        engine.dispose()
    return Counter(row.id for row in rows)


def test_one_leader_detects_and_the_other_takes_over_when_it_is_killed(
    rig: tuple[list[ServerProcess], CloudWearable],
) -> None:
    servers, wearable = rig
    wait_for(lambda: len(leaders(servers)) == 1, 20, "a fall detection leader")
    [leader] = leaders(servers)
    [survivor] = [s for s in servers if s is not leader]

    # One fall, both processes up: one alarm, detected by the leader alone.
    wearable.play(recording("F01_SA01_R01"), 200.0)
    wait_for(lambda: len(stored_falls(survivor)) == 1, 30, "the first fall alarm")
    wait_for(lambda: len(wearable.prompts) == 1, 10, "the prompt of the first fall")
    assert "possible fall" not in log_of(survivor)

    # A second fall; once the wearable is prompted the hold is in SQL. Kill the leader then.
    wearable.play(recording("F13_SA01_R01"), 200.0)
    wait_for(lambda: len(wearable.prompts) == 2, 30, "the prompt of the second fall")
    leader.service.kill()
    held_id = wearable.prompts[1].body.alarm_id
    wait_for(lambda: LEADS in log_of(survivor), 20, "the take-over")
    wait_for(lambda: held_id in stored_falls(survivor), 30, "the held fall, sent by the survivor")
    assert f"possible fall {held_id} of {WEARABLE}/{WEARABLE} resumed" in log_of(survivor)

    # A third fall reaches the survivor, which now runs detection.
    wearable.play(recording("F05_SA02_R02"), 200.0)
    wait_for(lambda: len(stored_falls(survivor)) == 3, 30, "the third fall alarm")
    stored = stored_falls(survivor)
    assert max(stored.values()) == 1  # none stored twice
    assert set(stored) == {p.body.alarm_id for p in wearable.prompts}  # each prompted, once
    survivor.service.assert_clean()
