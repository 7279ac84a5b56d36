"""Pure decoders from Zigbee2MQTT payloads to edge events, one per device kind.

Quirks of the outside world recorded here:
- A Tuya SOS button (TS0215A_sos) publishes ``{"action":"emergency","battery":80,...}`` and
  may follow with ``{"action":""}``: that empty action resets Home Assistant's action sensor;
  it is NOT a release or a clear and must raise and clear nothing.
- Zigbee2MQTT re-publishes the last state on every message, so ``battery`` arrives with each
  press; it is a battery reading, not an event of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.errors import PayloadError
from edge.events import BatteryReported, DeviceRef, EdgeEvent, FallReported, Key, KeyPressed


@dataclass(frozen=True, slots=True)
class Problem:
    """Part of a payload that could not be used; the rest of the payload still counts."""

    reason: str
    detail: str


Decoded = EdgeEvent | Problem
Converter = Callable[[DeviceRef, Mapping[str, Any], float], list[Decoded]]


def _battery(device: DeviceRef, payload: Mapping[str, Any], now: float) -> list[Decoded]:
    battery = payload.get("battery")
    if battery is None:
        return []
    if isinstance(battery, bool) or not isinstance(battery, int | float) or not 0 <= battery <= 100:
        return [Problem("bad_value", f"battery {battery!r} is not a percentage")]
    low = payload.get("battery_low") is True
    return [BatteryReported(device, now, round(battery), low)]


def sos_button(device: DeviceRef, payload: Mapping[str, Any], now: float) -> list[Decoded]:
    """Tuya TS0215A_sos and alike: ``action`` ``emergency`` is a press; ``""`` is nothing.

    A press is raised whatever else in the payload is wrong: a garbled battery reading is
    reported as a problem next to the press, never instead of it.
    """
    action = payload.get("action")
    if action is not None and not isinstance(action, str):
        raise PayloadError("bad_value", f"action {action!r} is not a string")
    decoded = _battery(device, payload, now)
    if action == "emergency":
        battery = next((d.battery_percent for d in decoded if isinstance(d, BatteryReported)), None)
        decoded.insert(0, KeyPressed(device, Key.EMERGENCY, now, now, battery_percent=battery))
    return decoded


def fall_radar(device: DeviceRef, payload: Mapping[str, Any], now: float) -> list[Decoded]:
    """Tuya MIR-HE200-TY_fall and alike: ``fall_down_status`` none / maybe_fall / fall.

    The radar decides itself; ``maybe_fall`` feeds the same possible-fall flow as a wearable's
    detection, ``fall`` is certain. ``none`` clears nothing: a person who got up is told
    apart by the resident cancelling, not by the radar losing sight of them.
    """
    status = payload.get("fall_down_status")
    if status is None or status == "none":
        return []
    if status in ("maybe_fall", "fall"):
        return [FallReported(device, now, certain=status == "fall")]
    return [Problem("bad_value", f"fall_down_status {status!r}")]


CONVERTERS: dict[str, Converter] = {
    "sos_button": sos_button,
    "fall_radar": fall_radar,
}
