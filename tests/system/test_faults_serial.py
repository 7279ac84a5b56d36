"""Pull the call button's cable and plug it back, during presses: no press lost or doubled.

Presses made while unplugged wait in the button (it repeats until answered); a press whose
answer was cut off by the unplug is repeated after the replug with the same sequence number
and press time, and the gateway answers it again instead of raising a second alarm.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.serial.payloads import KeyKind
from tests.system.faultrig import FaultCentre, FaultHome, fault_centre, fault_home, wait_delivered

CYCLES = 3


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[FaultCentre, FaultHome]]:
    with fault_centre(tmp_path) as centre, fault_home(centre, "serial") as home:
        yield centre, home


def test_unplug_and_replug_during_presses(rig: tuple[FaultCentre, FaultHome]) -> None:
    centre, home = rig
    for _ in range(CYCLES):
        home.press()  # and the cable goes at once, before or after the answer
        home.port.unplug()
        unplugged = [home.press(KeyKind.EMERGENCY), home.press(KeyKind.SERVICE)]
        assert not any(p.stages for p in unplugged)
        home.port.plug()
        assert all(home.stored(p) for p in unplugged), home.gateway.service.tail()

    result = wait_delivered(centre, home)
    assert (result.pressed, result.lost, result.duplicates) == (3 * CYCLES, 0, 0)
    assert home.faults.count("unplug") == home.faults.count("replug") == CYCLES
