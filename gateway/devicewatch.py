"""Device health and home hazards: which technical and hazard alarms the devices call for.

- Silence: a device not heard for two of its kind's heartbeat intervals (``supervision``).
- Zigbee2MQTT availability ``offline`` (or its bridge going offline) is believed at once;
  ``online`` is not taken as a sign of life (a retained ``online`` outlives a dead bridge).
- Low battery: the device's flag, or a level at or under its kind's ``low_percent``; one alarm
  per episode, which ends when a fresh battery reads 10 points above the threshold.
- Smoke, gas, water: an alarm when a hazard turns on; the device repeats the state with every
  report, so only the change counts.

Pure but for the monotonic clock silence is measured on (``supervision``): the caller passes
events and wall-clock times in and raises what comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.devices import REGISTRY
from edge.devices.capabilities import Battery
from edge.events import AvailabilityChanged, BatteryReported, DeviceRef, HazardReported
from edge.zigbee2mqtt.bridge import BRIDGE_DEVICE as BRIDGE
from gateway.supervision import DeviceState, DeviceSupervisor
from protocol import AlarmKind

DEFAULT_LOW_PERCENT = 15
BATTERY_HYSTERESIS = 10
HAZARD_ALARMS = {
    "smoke": AlarmKind.SMOKE,
    "gas": AlarmKind.GAS,
    "water_leak": AlarmKind.WATER_LEAK,
}


@dataclass(frozen=True)
class DeviceAlarm:
    device: DeviceRef
    kind: AlarmKind
    since: float  # when it was last heard / when the condition began
    detail: dict[str, Any] = field(default_factory=dict)


class DeviceWatch:
    def __init__(
        self,
        intervals_s: dict[str, float],
        now: float,
        *,
        misses: int = 2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.supervisor = DeviceSupervisor(intervals_s, now, misses=misses, monotonic=monotonic)
        self._battery_low: set[str] = set()
        self._hazards: dict[tuple[str, str], bool] = {}

    def heard(self, device_id: str, at: float) -> bool:
        """A sign of life; True if the device was offline and is back."""
        return self.supervisor.heard(device_id, at)

    def silent(self, now: float, devices: dict[str, DeviceRef]) -> list[DeviceAlarm]:
        found = self.supervisor.check(now)
        return [
            DeviceAlarm(
                devices.get(d, DeviceRef(d, "device", "serial")),
                AlarmKind.DEVICE_SILENT,
                since,
                {"reason": "heartbeats_missed", "misses": self.supervisor.misses},
            )
            for d, since in found
        ]

    def on_availability(self, change: AvailabilityChanged) -> DeviceAlarm | None:
        """Zigbee2MQTT's word on a device (or on itself, the bridge)."""
        device = change.device
        if change.online:
            if device == BRIDGE:
                self.supervisor.heard(device.device_id, change.received_at)
            return None
        if not self.supervisor.offline(device.device_id, change.received_at):
            return None
        reason = "bridge_offline" if device == BRIDGE else "zigbee2mqtt_availability"
        return DeviceAlarm(device, AlarmKind.DEVICE_SILENT, change.received_at, {"reason": reason})

    def on_battery(self, report: BatteryReported) -> DeviceAlarm | None:
        device = report.device
        threshold = _low_percent(device.device_kind)
        percent = report.battery_percent
        low = report.battery_low or (percent is not None and percent <= threshold)
        if not low:
            if percent is None or percent >= threshold + BATTERY_HYSTERESIS:
                self._battery_low.discard(device.device_id)
            return None
        if device.device_id in self._battery_low:
            return None
        self._battery_low.add(device.device_id)
        detail: dict[str, Any] = {"battery_low": report.battery_low, "threshold": threshold}
        if percent is not None:
            detail["battery_percent"] = percent
        return DeviceAlarm(device, AlarmKind.LOW_BATTERY, report.received_at, detail)

    def on_hazard(self, report: HazardReported) -> DeviceAlarm | bool | None:
        """An alarm when the hazard turns on; False when it turns off; None when unchanged."""
        key = (report.device.device_id, report.hazard)
        before = self._hazards.get(key, False)
        self._hazards[key] = report.active
        if report.active and not before:
            kind = HAZARD_ALARMS.get(report.hazard)
            if kind is None:
                raise ValueError(f"no alarm for hazard {report.hazard!r}")
            return DeviceAlarm(report.device, kind, report.received_at, {"hazard": report.hazard})
        if before and not report.active:
            return False
        return None

    def state(self, device_id: str) -> DeviceState:
        return self.supervisor.state(device_id)


def _low_percent(kind: str) -> int:
    if kind not in REGISTRY:
        return DEFAULT_LOW_PERCENT
    battery = REGISTRY.get(kind).capability(Battery)
    return battery.low_percent if battery is not None else DEFAULT_LOW_PERCENT
