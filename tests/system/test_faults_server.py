"""Restart the server (kill -9, on SQLite and on PostgreSQL): nothing it acknowledged is lost,
and what was raised while it was down arrives once when it is back.

The receipt goes out only after the alarm's transaction committed, so a press the device saw
reach AT_CENTRE must be in the database after any crash; an alarm caught mid-ingest has no
receipt and is resent by the gateway, and stored once by its id.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.serial.payloads import AckStage
from onebox.postgres import PostgresCluster
from tests.system.faultrig import FaultCentre, FaultHome, fault_centre, fault_home, wait_delivered


@pytest.fixture(params=["sqlite", "postgresql"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[FaultCentre, FaultHome]]:
    url = None
    if request.param == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url = cluster.create_database(f"faults_{secrets.token_hex(4)}")
    with (
        fault_centre(tmp_path, database_url=url) as centre,
        fault_home(centre, f"srv-{request.param[:2]}") as home,
    ):
        yield centre, home


def test_server_killed_loses_nothing_it_acknowledged(rig: tuple[FaultCentre, FaultHome]) -> None:
    centre, home = rig
    settled = [home.press() for _ in range(3)]
    assert all(home.at_centre(p) for p in settled)

    # Mid-ingest: a burst, and the server dies as soon as the first receipt is back.
    burst = [home.press() for _ in range(8)]
    assert home.at_centre(burst[0])
    centre.server.service.kill()
    acknowledged = [p for p in settled + burst if AckStage.AT_CENTRE in p.stages]

    while_down = [home.press() for _ in range(3)]
    assert all(home.stored(p) for p in while_down)
    centre.server.start()

    result = wait_delivered(centre, home)
    assert (result.pressed, result.lost, result.duplicates) == (14, 0, 0)
    seqs = {a["origin"]["frame_seq"] for a in centre.alarms(device_id=home.device_id)}
    assert {p.seq for p in acknowledged} <= seqs
