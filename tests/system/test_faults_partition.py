"""An uplink partition long enough to fill the gateway's telemetry quota.

While the path to the centre is cut, telemetry goes to the on-disk backlog
(``GATEWAY_TELEMETRY_QUOTA_BYTES``, small here) and the oldest is thinned to stay within it;
alarms stay in the outbox whatever it costs. After the heal the alarms arrive once, and the
telemetry the centre gets from the outage is the newest of it, never more than the quota.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from onebox.net import wait_for
from tests.system.faultrig import FaultCentre, FaultHome, fault_centre, fault_home, wait_delivered

QUOTA = 4096  # bytes: about a dozen battery readings
PARTITION_S = 8.0
KEEP_S = 3.0  # the kept readings were made in the outage's last seconds


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[FaultCentre, FaultHome]]:
    settings = {"GATEWAY_TELEMETRY_QUOTA_BYTES": str(QUOTA)}
    with (
        fault_centre(tmp_path) as centre,
        # A heartbeat every 50 ms: 20 battery readings a second fill the quota in a second.
        fault_home(
            centre, "cut", via_partition=True, button_heartbeat_s=0.05, settings=settings
        ) as home,
    ):
        yield centre, home


def _readings(centre: FaultCentre, gateway_id: str, start: float, end: float) -> list[float]:
    """Battery points the centre stored for this gateway, made from ``start`` to ``end``."""
    path = centre.server.data_dir / "telemetry.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT time_ns, tags FROM points WHERE measurement = 'battery'"
            " AND time_ns BETWEEN ? AND ?",
            (int(start * 1e9), int(end * 1e9)),
        ).fetchall()
    return sorted(t / 1e9 for t, tags in rows if json.loads(tags).get("gateway_id") == gateway_id)


def test_partition_fills_the_quota_thins_oldest_telemetry_and_loses_no_alarm(
    rig: tuple[FaultCentre, FaultHome],
) -> None:
    centre, home = rig
    assert home.partition is not None
    wait_for(
        lambda: len(_readings(centre, home.gateway_id, 0, time.time())) > 10, 20, "live readings"
    )

    home.partition.cut()
    cut_at = time.time()
    presses = []
    partition = threading.Event()  # never set: the partition is a length of time
    for _ in range(3):
        presses.append(home.press())
        assert home.stored(presses[-1])
        partition.wait(PARTITION_S / 3)
    heal_at = time.time()
    home.partition.heal()

    result = wait_delivered(centre, home)
    assert (result.pressed, result.lost, result.duplicates) == (3, 0, 0)

    # What reached the centre from the outage came out of the backlog after the reconnect:
    # the newest readings, no more than the quota holds.
    back_at = _last_connect(home)
    assert back_at >= heal_at - 1.0
    wait_for(
        lambda: bool(_readings(centre, home.gateway_id, back_at - KEEP_S, back_at)),
        20,
        "backlogged readings at the centre",
    )
    kept = _readings(centre, home.gateway_id, cut_at + 1.0, back_at - 0.1)
    assert 0 < len(kept) <= QUOTA // 200  # a reading is well over 200 bytes on the wire
    assert min(kept) >= back_at - KEEP_S  # the oldest were thinned, the newest kept
    assert "telemetry backlog full" in home.gateway.service.log_path.read_text()


def _last_connect(home: FaultHome) -> float:
    """When the gateway last connected to the centre, from its log (local time)."""
    lines = home.gateway.service.log_path.read_text().splitlines()
    line = [x for x in lines if "connected to the centre as" in x][-1]
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
