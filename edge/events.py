"""Typed events the edge hands to the gateway, whatever the transport.

Times are Unix seconds from the clock the driver was given (the gateway's), so a test can
drive them; ``occurred_at`` is the best estimate of when it happened on the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Transport = Literal["serial", "zigbee2mqtt"]


class Key(StrEnum):
    EMERGENCY = "emergency"
    SERVICE = "service"
    FAMILY = "family"


@dataclass(frozen=True, slots=True)
class DeviceRef:
    device_id: str
    device_kind: str
    transport: Transport


@dataclass(frozen=True, slots=True)
class KeyPressed:
    """A call key was pressed. ``frame_seq`` identifies a serial press across retransmits."""

    device: DeviceRef
    key: Key
    received_at: float
    occurred_at: float
    frame_seq: int | None = None
    battery_percent: int | None = None


@dataclass(frozen=True, slots=True)
class BatteryReported:
    device: DeviceRef
    received_at: float
    battery_percent: int
    battery_low: bool = False


@dataclass(frozen=True, slots=True)
class AvailabilityChanged:
    """Zigbee2MQTT's availability or a serial port appearing / going away."""

    device: DeviceRef
    received_at: float
    online: bool


EdgeEvent = KeyPressed | BatteryReported | AvailabilityChanged
