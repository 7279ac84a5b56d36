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
from edge.events import (
    BatteryReported,
    DeviceRef,
    EdgeEvent,
    FallReported,
    Key,
    KeyPressed,
    SensorChanged,
)


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
    detection, ``fall`` is certain. ``none`` cancels no alarm (a person who got up is told
    apart by the resident cancelling, not by the radar losing sight of them); it only ends
    the episode, so that the radar's next fall is news.
    """
    status = payload.get("fall_down_status")
    if status is None:
        return []
    if status == "none":
        return [FallReported(device, now, certain=False, cleared=True)]
    if status in ("maybe_fall", "fall"):
        return [FallReported(device, now, certain=status == "fall")]
    return [Problem("bad_value", f"fall_down_status {status!r}")]


def _binary(
    device: DeviceRef, payload: Mapping[str, Any], now: float, key: str, kind: str, invert: bool
) -> list[Decoded]:
    events = _battery(device, payload, now)
    value = payload.get(key)
    if value is None:
        return events
    if not isinstance(value, bool):
        return [*events, Problem("bad_value", f"{key} {value!r} is not a boolean")]
    active = value != invert
    return [*events, SensorChanged(device, now, kind, int(active))]


def motion_sensor(device: DeviceRef, payload: Mapping[str, Any], now: float) -> list[Decoded]:
    """PIR (e.g. Aqara RTCGQ11LM): ``occupancy`` true when motion is seen."""
    return _binary(device, payload, now, "occupancy", "motion", invert=False)


def _contact(kind: str) -> Converter:
    def convert(device: DeviceRef, payload: Mapping[str, Any], now: float) -> list[Decoded]:
        # Quirk: ``contact: true`` means the magnet is near, i.e. the door is CLOSED.
        return _binary(device, payload, now, "contact", kind, invert=True)

    convert.__doc__ = f"Door contact (e.g. Aqara MCCGQ11LM) as a {kind}: contact false = open."
    return convert


def _occupancy(kind: str) -> Converter:
    def convert(device: DeviceRef, payload: Mapping[str, Any], now: float) -> list[Decoded]:
        return _binary(device, payload, now, "occupancy", kind, invert=False)

    convert.__doc__ = f"Pressure mat reporting ``occupancy`` as a {kind} sensor."
    return convert


def smart_plug(device: DeviceRef, payload: Mapping[str, Any], now: float) -> list[Decoded]:
    """A plug in front of an appliance: ``state`` ON / OFF."""
    state = payload.get("state")
    if state is None:
        return []
    if state not in ("ON", "OFF"):
        return [Problem("bad_value", f"state {state!r}")]
    return [SensorChanged(device, now, "appliance", int(state == "ON"))]


CONVERTERS: dict[str, Converter] = {
    "motion_sensor": motion_sensor,
    "door_contact": _contact("door"),
    "exit_door_contact": _contact("exit_door"),
    "bed_sensor": _occupancy("bed"),
    "seat_sensor": _occupancy("seat"),
    "smart_plug": smart_plug,
    "sos_button": sos_button,
    "fall_radar": fall_radar,
}
