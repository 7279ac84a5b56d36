"""Restart mosquitto (persistence on) and keep it down: alarms raised meanwhile arrive once,
oldest first, within seconds of the broker returning.

The outage lasts ``ELDERCARE_BROKER_DOWN_S`` seconds (default 20, enough for CI; set minutes
for a soak). The broker is killed (-9), not stopped: whatever it had not saved is gone, and
the gateway's outbox and the server's idempotent ingest must make up for it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.system.faultrig import FaultCentre, FaultHome, fault_centre, fault_home, wait_delivered

DOWN_S = float(os.environ.get("ELDERCARE_BROKER_DOWN_S", "20"))
DURING = 5  # alarms raised while the broker is down, spread over the outage


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[FaultCentre, FaultHome]]:
    with fault_centre(tmp_path) as centre, fault_home(centre, "broker") as home:
        yield centre, home


def test_alarms_raised_while_the_broker_is_down_arrive_once_oldest_first(
    rig: tuple[FaultCentre, FaultHome], record_property: Callable[[str, object], None]
) -> None:
    centre, home = rig
    before = home.press()
    assert home.at_centre(before)

    centre.broker.kill()
    down_at = time.monotonic()
    outage = threading.Event()  # never set: the outage itself is a length of time
    during = []
    for i in range(DURING):
        during.append(home.press())
        assert home.stored(during[-1])
        outage.wait(max(0.0, down_at + DOWN_S * (i + 1) / (DURING + 1) - time.monotonic()))
    outage.wait(max(0.0, down_at + DOWN_S - time.monotonic()))
    centre.broker.start()  # same port, same persistence file
    back_at = time.time()

    result = wait_delivered(centre, home, timeout=60)
    assert (result.pressed, result.lost, result.duplicates) == (1 + DURING, 0, 0)

    by_seq = {
        a["origin"]["frame_seq"]: datetime.fromisoformat(a["received_at"]).timestamp()
        for a in centre.alarms(device_id=home.device_id)
    }
    arrivals = [by_seq[p.seq] for p in during]
    assert arrivals == sorted(arrivals)  # oldest first
    delay = max(arrivals) - back_at
    record_property("backlog_delivered_s_after_broker_returned", round(delay, 2))
    # paho's reconnect back-off is capped at 3-6 s per client on both sides (protocol/mqtt.py).
    assert delay < 25, delay
