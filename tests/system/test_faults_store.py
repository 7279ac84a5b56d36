"""PostgreSQL stopped under a running centre: the fault is loud, nothing is lost or doubled.

A press made while the database is down reaches the gateway's outbox but gets no receipt, so
the gateway keeps resending it. The centre says so once: one CRITICAL log line, ``store:
failing`` on ``/api/health`` and a ``store.fault`` event on the live stream. When PostgreSQL
is back the press is stored once, the fault clears, and the episode is in the alarm history
as a ``server_fault`` technical alarm.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.serial.payloads import AckStage
from onebox.broker import Broker
from onebox.console_client import LiveStream
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, ServerProcess
from tests.system.faultrig import FaultCentre, FaultHome, fault_home, wait_delivered

Rig = tuple[PostgresCluster, FaultCentre, FaultHome]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    # Its own PostgreSQL: stopping it must not disturb any other test's database.
    cluster = PostgresCluster(tmp_path / "pg").start()
    accounts = Accounts()
    broker = Broker(tmp_path / "mosquitto", accounts.broker_accounts()).start()
    password = secrets.token_urlsafe(12)
    server = ServerProcess(
        tmp_path, broker, accounts, database_url=cluster.url, admin_password=password
    )
    centre = FaultCentre(tmp_path, accounts, broker, server, password)
    try:
        server.start()
        with fault_home(centre, "store") as home:
            yield cluster, centre, home
    finally:
        if centre._console is not None:
            centre._console.close()
        server.stop()
        broker.stop()
        cluster.stop()


def health(centre: FaultCentre) -> dict[str, Any]:
    """Read without a login and without SQL: it answers while the database does not."""
    answer: dict[str, Any] = httpx.get(f"{centre.server.url}/api/health", timeout=5).json()
    return answer


def test_database_down_is_one_technical_alarm_and_no_alarm_is_lost(rig: Rig) -> None:
    cluster, centre, home = rig
    before = home.press()
    assert home.at_centre(before)
    stream = LiveStream(centre.server.url, centre.console.token).start()
    try:
        cluster.pause()
        during = home.press()
        assert home.stored(during)
        wait_for(lambda: health(centre)["store"] == "failing", 30, "the store fault on /api/health")
        assert health(centre)["status"] == "degraded"
        assert stream.wait_for(lambda events: any(e.type == "store.fault" for e in events), 10)
        # The gateway resends every second: several refused writes, still one log line.
        wait_for(lambda: health(centre)["store_refused_writes"] >= 3, 30, "resends refused")
        assert AckStage.AT_CENTRE not in during.stages  # no receipt: the gateway keeps it

        cluster.resume()
        wait_for(lambda: health(centre)["store"] == "up", 30, "the store fault clearing")
    finally:
        stream.stop()

    result = wait_delivered(centre, home)
    assert (result.pressed, result.lost, result.duplicates) == (2, 0, 0)
    [fault] = centre.alarms(kind="server_fault")
    assert (fault["gateway_id"], fault["status"]) == ("server", "open")
    # One line for the whole episode; nothing else in the server's log was a problem.
    problems = centre.server.service.problems()
    assert len(problems) == 1, problems
    assert " CRITICAL " in problems[0]
    assert "the database refuses writes" in problems[0]
