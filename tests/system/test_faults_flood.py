"""A telemetry flood while alarms are raised: every alarm arrives once.

The flood comes from both sides of the gateway: its own call button reports its battery 20
times a second (all of it forwarded as telemetry), and a fleet of simulated homes floods the
centre's broker and ingest with telemetry at 100 times the normal rate. Alarm latency
(press written -> stored at the centre) is recorded idle and under the flood; the assertion is
on correctness only: timing goals belong to a benchmark on a quiet machine.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from firmware_sim.fleet import HomeRates

from onebox.net import wait_for
from tests.system.conftest import start_fleet
from tests.system.faultrig import (
    FaultCentre,
    FaultHome,
    Verdict,
    fault_centre,
    fault_home,
    verdict,
    wait_delivered,
)

HOMES = 100
FLOOD_MULTIPLIER = 100.0  # x 2 readings a minute per home: about 330 messages a second
PRESSES = 20


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[FaultCentre, FaultHome]]:
    with (
        fault_centre(tmp_path) as centre,
        fault_home(centre, "flood", button_heartbeat_s=0.05) as home,
    ):
        yield centre, home


def _press_some(home: FaultHome, count: int) -> None:
    for _ in range(count):
        press = home.press()
        assert home.at_centre(press)  # one at a time: latency, not queueing, is measured


def test_alarms_under_a_telemetry_flood_arrive_once(
    rig: tuple[FaultCentre, FaultHome], record_property: Callable[[str, object], None]
) -> None:
    centre, home = rig
    _press_some(home, 5)
    idle = wait_delivered(centre, home)

    rates = HomeRates(heartbeat_s=30, multiplier=FLOOD_MULTIPLIER, alarm_multiplier=0)
    fleet = start_fleet(centre.broker, centre.accounts, HOMES, "flood-", rates=rates)
    try:
        wait_for(lambda: fleet.connected() == HOMES, 30, "the flooding homes connected")
        wait_for(lambda: fleet.ledger.sent["telemetry"] > 500, 30, "the flood under way")
        flood_start, before = len(home.presses), fleet.ledger.sent["telemetry"]
        _press_some(home, PRESSES)
        during = fleet.ledger.sent["telemetry"] - before
    finally:
        fleet.stop()

    result = wait_delivered(centre, home)
    assert (result.pressed, result.lost, result.duplicates) == (5 + PRESSES, 0, 0)
    assert during > PRESSES  # the flood went on while the alarms were raised
    under = verdict(centre, home).latencies_s[flood_start:]
    record_property("alarm_latency_idle_ms", _p(idle, idle.latencies_s))
    record_property("alarm_latency_flood_ms", _p(result, under))
    record_property("flood_messages_during_presses", during)


def _p(result: Verdict, latencies: tuple[float, ...]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    return f"median={statistics.median(ms):.0f} max={ms[-1]:.0f} n={len(ms)}/{result.pressed}"
