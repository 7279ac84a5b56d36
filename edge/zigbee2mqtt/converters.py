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
from typing import Any

from edge.errors import PayloadError
from edge.events import BatteryReported, DeviceRef, EdgeEvent, Key, KeyPressed

Converter = Callable[[DeviceRef, Mapping[str, Any], float], list[EdgeEvent]]


def _battery(device: DeviceRef, payload: Mapping[str, Any], now: float) -> list[EdgeEvent]:
    battery = payload.get("battery")
    if battery is None:
        return []
    if isinstance(battery, bool) or not isinstance(battery, int | float) or not 0 <= battery <= 100:
        raise PayloadError("bad_value", f"battery {battery!r} is not a percentage")
    low = payload.get("battery_low") is True
    return [BatteryReported(device, now, round(battery), low)]


def sos_button(device: DeviceRef, payload: Mapping[str, Any], now: float) -> list[EdgeEvent]:
    """Tuya TS0215A_sos and alike: ``action`` ``emergency`` is a press; ``""`` is nothing."""
    action = payload.get("action")
    if action is not None and not isinstance(action, str):
        raise PayloadError("bad_value", f"action {action!r} is not a string")
    events = _battery(device, payload, now)
    if action == "emergency":
        battery = events[0].battery_percent if events else None  # type: ignore[union-attr]
        events.insert(0, KeyPressed(device, Key.EMERGENCY, now, now, battery_percent=battery))
    return events


CONVERTERS: dict[str, Converter] = {
    "sos_button": sos_button,
}
