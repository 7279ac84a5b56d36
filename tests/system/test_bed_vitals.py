"""Bed vital signs on real components: a simulated under-mattress sensor streams a night's
pressure/BCG signal over a pty; a breathing pause reaches the centre as a vital-signs alarm."""

from __future__ import annotations

from collections.abc import Callable

from firmware_sim.bed_signal import synthesize
from firmware_sim.serial_device import BedSensor

from onebox.net import wait_for
from tests.system.conftest import Centre, SerialHome


def test_a_breathing_pause_in_bed_reaches_the_centre(
    centre: Centre, serial_home: Callable[..., tuple[SerialHome, BedSensor]]
) -> None:
    home, bed = serial_home(BedSensor, "bed")
    _, pressure, _ = synthesize(240, seed=7, apnoea_spans=[(120, 40)])
    bed.stream(pressure.tolist(), 100)

    def vitals() -> list[dict[str, object]]:
        return [
            a
            for a in centre.console.alarms(limit=1000)
            if a["device_id"] == home.device_id and a["kind"] == "vital_signs"
        ]

    wait_for(lambda: len(vitals()) == 1, 30, "the vital-signs alarm")
    [alarm] = vitals()
    detail = centre.console.get(f"/api/alarms/{alarm['id']}")["detail"]
    assert detail["condition"] == "apnoea"
