"""The small pieces a device kind is built from: battery, key, contact, occupancy, samples...

A capability knows which part of a device's messages it owns and how to read it. A kind's
Zigbee2MQTT decoder is the concatenation of its capabilities' decoders, so a new device that
combines known pieces needs no new code, only a definition (see ``edge.devices.catalogue``).

Quirks of the outside world recorded here:
- Zigbee2MQTT re-publishes a device's whole last state with every message, so ``battery``
  arrives with each press and ``contact`` with each battery report. Decoders report what the
  payload says; whoever consumes the events keeps the changes.
- ``contact: true`` means the magnet is near: the door is CLOSED.
- A Tuya SOS button (TS0215A_sos) may follow ``{"action":"emergency"}`` with ``{"action":""}``:
  that resets Home Assistant's action sensor and is NOT a release or a clear.

A part of a payload that cannot be used becomes a :class:`Problem` next to the parts that can,
never instead of them: a garbled battery reading must not swallow the press beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from edge.errors import PayloadError
from edge.events import (
    BatteryReported,
    DeviceRef,
    EdgeEvent,
    FallReported,
    HazardReported,
    Key,
    KeyPressed,
    SensorChanged,
)
from edge.serial.payloads import FrameType


@dataclass(frozen=True, slots=True)
class Problem:
    """Part of a payload that could not be used; the rest of the payload still counts."""

    reason: str
    detail: str


Decoded = EdgeEvent | Problem


def _boolean(state: Mapping[str, Any], key: str) -> bool | list[Decoded]:
    """The boolean at ``key``; otherwise what to report instead (nothing, or a problem)."""
    value = state.get(key)
    if value is None:
        return []
    if not isinstance(value, bool):
        return [Problem("bad_value", f"{key} {value!r} is not a boolean")]
    return value


@dataclass(frozen=True)
class Capability:
    """One piece of a device kind.

    ``serial_frames`` are the serial frame types that carry it; ``decode_z2m`` reads its part of
    a Zigbee2MQTT state.
    """

    name: ClassVar[str] = "capability"
    serial_frames: ClassVar[tuple[FrameType, ...]] = ()

    def label(self) -> str:
        """How the piece is listed (``python -m edge.devices``)."""
        return self.name

    def decode_z2m(self, device: DeviceRef, state: Mapping[str, Any], now: float) -> list[Decoded]:
        """Events from one Zigbee2MQTT state message (empty if none of its fields is there)."""
        return []


@dataclass(frozen=True)
class Battery(Capability):
    """A battery-powered device: percentage and a low flag. ``low_percent`` is the level at
    which the gateway raises a low-battery alarm even if the device sets no flag."""

    name: ClassVar[str] = "battery"
    serial_frames: ClassVar[tuple[FrameType, ...]] = (FrameType.HEARTBEAT,)
    low_percent: int = 15

    def decode_z2m(self, device: DeviceRef, state: Mapping[str, Any], now: float) -> list[Decoded]:
        battery = state.get("battery")
        low = state.get("battery_low")
        problems: list[Decoded] = []
        if low is not None and not isinstance(low, bool):
            problems.append(Problem("bad_value", f"battery_low {low!r} is not a boolean"))
            low = None
        if battery is None:
            # Some sensors (water leak) report only the flag; it is a reading of its own.
            return problems if low is None else [BatteryReported(device, now, None, low)]
        if isinstance(battery, bool) or not isinstance(battery, int | float):
            return [Problem("bad_value", f"battery {battery!r} is not a percentage")]
        if not 0 <= battery <= 100:
            return [Problem("bad_value", f"battery {battery!r} is not a percentage")]
        return [BatteryReported(device, now, round(battery), low is True), *problems]


@dataclass(frozen=True)
class Keys(Capability):
    """Call keys. On serial a KEY_PRESS frame names the key; on Zigbee2MQTT the ``action``
    values in ``actions`` are presses of the mapped key and every other string is nothing."""

    name: ClassVar[str] = "key"
    serial_frames: ClassVar[tuple[FrameType, ...]] = (FrameType.KEY_PRESS,)
    keys: tuple[Key, ...] = (Key.EMERGENCY,)
    actions: Mapping[str, Key] = field(default_factory=lambda: {"emergency": Key.EMERGENCY})

    def decode_z2m(self, device: DeviceRef, state: Mapping[str, Any], now: float) -> list[Decoded]:
        action = state.get("action")
        if action is None:
            return []
        if not isinstance(action, str):
            # The whole message is suspect: a press we cannot read must not pass silently.
            raise PayloadError("bad_value", f"action {action!r} is not a string")
        key = self.actions.get(action)
        return [] if key is None else [KeyPressed(device, key, now, now)]


@dataclass(frozen=True)
class BinarySensor(Capability):
    """A two-state sensor read from one boolean field: occupancy, contact, presence.

    ``kind`` names the state for the home detectors (motion, door, exit_door, bed, seat);
    the event's value is 1 when active (motion seen, door OPEN, bed occupied)."""

    name: ClassVar[str] = "binary"
    serial_frames: ClassVar[tuple[FrameType, ...]] = ()
    field_name: str = "occupancy"
    kind: str = "motion"
    invert: bool = False

    def label(self) -> str:
        return self.field_name

    def decode_z2m(self, device: DeviceRef, state: Mapping[str, Any], now: float) -> list[Decoded]:
        value = _boolean(state, self.field_name)
        if not isinstance(value, bool):
            return value
        return [SensorChanged(device, now, self.kind, int(value != self.invert))]


def occupancy(kind: str) -> BinarySensor:
    """PIR or pressure mat: ``occupancy`` true when someone is there."""
    return BinarySensor(field_name="occupancy", kind=kind)


def contact(kind: str) -> BinarySensor:
    """Magnet contact: ``contact`` false means OPEN."""
    return BinarySensor(field_name="contact", kind=kind, invert=True)


@dataclass(frozen=True)
class Switch(Capability):
    """An appliance behind a smart plug: ``state`` ON / OFF."""

    name: ClassVar[str] = "switch"
    kind: str = "appliance"

    def decode_z2m(self, device: DeviceRef, state: Mapping[str, Any], now: float) -> list[Decoded]:
        value = state.get("state")
        if value is None:
            return []
        if value not in ("ON", "OFF"):
            return [Problem("bad_value", f"state {value!r}")]
        return [SensorChanged(device, now, self.kind, int(value == "ON"))]


@dataclass(frozen=True)
class FallStatus(Capability):
    """A device that detects falls itself (Tuya MIR-HE200-TY_fall): ``fall_down_status``.

    ``maybe_fall`` feeds the same possible-fall flow as a wearable's detection, ``fall`` is
    certain. ``none`` cancels no alarm (a person who got up is told apart by the resident
    cancelling, not by the radar losing sight of them); it ends the episode, so that the
    radar's next fall is news."""

    name: ClassVar[str] = "fall_status"

    def decode_z2m(self, device: DeviceRef, state: Mapping[str, Any], now: float) -> list[Decoded]:
        status = state.get("fall_down_status")
        if status is None:
            return []
        if status == "none":
            return [FallReported(device, now, certain=False, cleared=True)]
        if status in ("maybe_fall", "fall"):
            return [FallReported(device, now, certain=status == "fall")]
        return [Problem("bad_value", f"fall_down_status {status!r}")]


@dataclass(frozen=True)
class Hazard(Capability):
    """A smoke, gas or water-leak alarm: ``<field>`` true while the hazard is detected.

    Every report carries the flag again; the gateway raises an alarm on the change to true."""

    name: ClassVar[str] = "hazard"
    field_name: str = "smoke"

    @property
    def hazard(self) -> str:
        return self.field_name

    def label(self) -> str:
        return f"alarm:{self.field_name}"

    def decode_z2m(self, device: DeviceRef, state: Mapping[str, Any], now: float) -> list[Decoded]:
        value = _boolean(state, self.field_name)
        if not isinstance(value, bool):
            return value
        return [HazardReported(device, now, self.hazard, value)]


@dataclass(frozen=True)
class Signal(Capability):
    """A one-channel signal on a fixed grid, streamed in SIGNAL frames (a bed's pressure)."""

    name: ClassVar[str] = "signal"
    serial_frames: ClassVar[tuple[FrameType, ...]] = (FrameType.SIGNAL,)
    signal: str = "bed_pressure"

    def label(self) -> str:
        return f"signal:{self.signal}"


@dataclass(frozen=True)
class Samples(Capability):
    """A raw signal streamed in SAMPLES frames (accelerometer, bed pressure)."""

    name: ClassVar[str] = "samples"
    serial_frames: ClassVar[tuple[FrameType, ...]] = (FrameType.SAMPLES,)
    signal: str = "acceleration"
