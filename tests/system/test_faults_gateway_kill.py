"""kill -9 the gateway with alarms in flight, restart it: every alarm arrives once.

Three ways an alarm can be caught by the kill: sent and maybe stored at the centre but not yet
receipted (a burst with the uplink up); stored in the outbox with the uplink cut, so certainly
not receipted; and pressed while no gateway runs at all (the button repeats it until the new
process answers). The outbox is on disk before the device hears RECEIVED, and a repeat of a
press the dead process stored is recognised by its sequence number and press time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.faultrig import FaultCentre, FaultHome, fault_centre, fault_home, wait_delivered


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[FaultCentre, FaultHome]]:
    with (
        fault_centre(tmp_path) as centre,
        fault_home(centre, "kill", via_partition=True) as home,
    ):
        yield centre, home


def test_gateway_killed_with_alarms_in_flight_delivers_each_once(
    rig: tuple[FaultCentre, FaultHome],
) -> None:
    centre, home = rig
    assert home.partition is not None

    # 1. A burst with the uplink up, killed as soon as the last press is on disk.
    burst = [home.press() for _ in range(5)]
    assert all(home.stored(p) for p in burst)
    home.kill()
    # 2. Presses while no gateway runs: the button repeats them until someone answers.
    orphans = [home.press() for _ in range(3)]
    home.restart()
    assert all(home.stored(p, 30) for p in orphans), home.gateway.service.tail()

    # 3. Stored but certainly not receipted: the uplink is cut while they are raised.
    home.partition.cut()
    cut_off = [home.press() for _ in range(3)]
    assert all(home.stored(p) for p in cut_off)
    home.kill()
    assert home.pending() >= len(cut_off)  # on disk, waiting for the centre's receipt
    home.partition.heal()
    home.restart()

    result = wait_delivered(centre, home)
    assert (result.pressed, result.lost, result.duplicates) == (11, 0, 0)
