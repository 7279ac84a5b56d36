"""Silence is a state: which devices have gone quiet.

Every supervised device has an expected heartbeat interval. Anything heard from it (a
heartbeat, a press, samples) counts. A device is ``unknown`` until first heard, ``ok`` while
heard within ``misses`` intervals, and ``offline`` after that; a device never heard at all
since the gateway started goes ``offline`` on the same allowance, counted from the start.
The caller passes the wall-clock time in (what is reported: when a device was last heard)
and acts on the transitions it gets back. How long a device has been quiet is measured on a
monotonic clock instead (injected, ``time.monotonic`` by default): an NTP step of the wall
clock forward would otherwise make every device look silent at once, and a step back would
hold a real silence alarm back by as much as the step. ``on_change`` additionally hears every
state change, including unknown -> ok, which no caller acts on but a display (Home
Assistant) shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class DeviceState(StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    OFFLINE = "offline"


@dataclass
class Supervised:
    interval_s: float | None  # None: offline only when told so, never by a timer
    since: float  # wall clock: last heard, or when supervision started (reported)
    quiet_from: float  # the same moment on the monotonic clock (measured)
    state: DeviceState = DeviceState.UNKNOWN


class DeviceSupervisor:
    def __init__(
        self,
        intervals_s: dict[str, float],
        now: float,
        *,
        misses: int = 2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if misses < 1:
            raise ValueError("misses must be at least 1")
        self.misses = misses
        self._monotonic = monotonic
        self.devices = {d: self._supervised(i, now) for d, i in intervals_s.items()}
        # Told (device id, new state, when) on every change; must return at once.
        self.on_change: Callable[[str, DeviceState, float], None] | None = None

    def supervise(self, intervals_s: dict[str, float], now: float) -> None:
        """Supervise exactly these devices from now on (the centre changed the home): a new
        one counts from ``now``, a gone one is forgotten, a kept one keeps its state."""
        for device_id in self.devices.keys() - intervals_s.keys():
            del self.devices[device_id]
        for device_id, interval in intervals_s.items():
            device = self.devices.setdefault(device_id, self._supervised(interval, now))
            device.interval_s = interval

    def _supervised(self, interval_s: float | None, now: float) -> Supervised:
        return Supervised(interval_s, now, self._monotonic())

    def _set(self, device_id: str, device: Supervised, state: DeviceState, now: float) -> None:
        changed = device.state is not state
        device.state = state
        if changed and self.on_change is not None:
            self.on_change(device_id, state, now)

    def state(self, device_id: str) -> DeviceState:
        return self.devices[device_id].state

    def heard(self, device_id: str, now: float) -> bool:
        """Record a sign of life; True if the device was offline and is back."""
        device = self.devices.get(device_id)
        if device is None:
            return False
        back = device.state is DeviceState.OFFLINE
        device.since = now  # the wall clock may have been stepped back: report it as it is
        device.quiet_from = self._monotonic()
        self._set(device_id, device, DeviceState.OK, now)
        return back

    def offline(self, device_id: str, now: float) -> bool:
        """Someone with authority (Zigbee2MQTT's availability) says the device is gone; True
        if that is news. A device not supervised until now is supervised from here on."""
        device = self.devices.setdefault(device_id, self._supervised(None, now))
        if device.state is DeviceState.OFFLINE:
            return False
        self._set(device_id, device, DeviceState.OFFLINE, now)
        return True

    def unreport(self, device_id: str) -> None:
        """The caller could not act on a silence: report it again at the next check."""
        device = self.devices[device_id]
        if device.state is DeviceState.OFFLINE:
            self._set(device_id, device, DeviceState.OK, device.since)

    def check(self, now: float) -> list[tuple[str, float]]:
        """Devices that went offline since the last check, with when they were last heard
        (or when supervision started, for a device never heard). ``now`` is the wall-clock
        time of the change; the silence itself is measured on the monotonic clock."""
        silent = []
        elapsed = self._monotonic()
        for device_id, device in self.devices.items():
            if device.interval_s is None:
                continue
            overdue = elapsed - device.quiet_from > self.misses * device.interval_s
            if overdue and device.state is not DeviceState.OFFLINE:
                self._set(device_id, device, DeviceState.OFFLINE, now)
                silent.append((device_id, device.since))
        return silent
