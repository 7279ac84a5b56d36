"""Faults of the device itself, planned on a :class:`~firmware_sim.timeline.Timeline`.

Each helper adds timed actions and records each fault in the :class:`FaultLog` when it is
injected. They take the device's own operations as callables (press a key, set the battery,
go silent), so the same helper serves a serial call button and a Zigbee device:

- **stuck key**: the key repeats presses by itself (a jammed button, water in the case);
- **phantom presses**: ``emergency`` with nobody pressing (Koenkk/zigbee2mqtt issue 31821);
- **battery drain**: the level falls step by step until the device reports battery low;
- **silence**: the device says nothing for a while (flat battery, out of range), optionally
  with Zigbee2MQTT marking it offline;
- **unplug**: the serial port vanishes and comes back under the same path.
"""

from __future__ import annotations

from collections.abc import Callable

from firmware_sim.faults.line import FaultyPort
from firmware_sim.faults.record import FaultLog
from firmware_sim.timeline import Timeline
from firmware_sim.zigbee_kinds import LOW_BATTERY_PERCENT

STUCK_PRESS = "stuck_press"
PHANTOM_PRESS = "phantom_press"


def repeat_presses(
    timeline: Timeline,
    log: FaultLog,
    device: str,
    press: Callable[[], object],
    *,
    fault: str,
    at_s: float,
    count: int,
    every_s: float,
) -> None:
    """``count`` presses nobody meant, ``every_s`` apart, each recorded as ``fault``
    (:data:`STUCK_PRESS` for a stuck key, :data:`PHANTOM_PRESS` for a phantom ``emergency``)."""
    if count < 1 or every_s < 0:
        raise ValueError("count must be at least 1 and every_s not negative")
    for i in range(count):

        def inject(number: int = i + 1) -> None:
            log.record(device, fault, number=number)
            press()

        timeline.add(at_s + i * every_s, f"{fault} {i + 1}/{count} on {device}", inject)


def battery_drain(
    timeline: Timeline,
    log: FaultLog,
    device: str,
    set_battery: Callable[[int], object],
    *,
    at_s: float,
    start_percent: int,
    to_percent: int,
    over_s: float,
    steps: int = 5,
) -> None:
    """Battery falling linearly from ``start_percent`` to ``to_percent`` in ``steps`` steps."""
    if not 0 <= to_percent <= start_percent <= 100 or steps < 1 or over_s < 0:
        raise ValueError("need 0 <= to_percent <= start_percent <= 100, steps >= 1, over_s >= 0")
    for i in range(1, steps + 1):
        level = round(start_percent + (to_percent - start_percent) * i / steps)

        def inject(level: int = level) -> None:
            log.record(device, "battery", percent=level, low=level < LOW_BATTERY_PERCENT)
            set_battery(level)

        timeline.add(at_s + over_s * i / steps, f"battery {level} % on {device}", inject)


def silence(
    timeline: Timeline,
    log: FaultLog,
    device: str,
    set_silent: Callable[[bool], object],
    *,
    at_s: float,
    for_s: float | None,
    offline: bool = False,
) -> None:
    """Nothing from the device from ``at_s`` (for ``for_s``, or for the rest of the run)."""

    def mute() -> None:
        log.record(device, "silent", offline=offline)
        set_silent(True)

    def resume() -> None:
        log.record(device, "resume")
        set_silent(False)

    timeline.add(at_s, f"{device} goes silent" + (" (offline)" if offline else ""), mute)
    if for_s is not None:
        timeline.add(at_s + for_s, f"{device} talks again", resume)


def unplug(timeline: Timeline, port: FaultyPort, *, at_s: float, for_s: float | None) -> None:
    """Pull the serial cable at ``at_s``; plug it back ``for_s`` later (records both)."""
    timeline.add(at_s, f"unplug {port.device}", port.unplug)
    if for_s is not None:
        timeline.add(at_s + for_s, f"replug {port.device}", port.plug)
