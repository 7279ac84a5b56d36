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
    """A battery reading; ``battery_percent`` is None for devices that report only a flag."""

    device: DeviceRef
    received_at: float
    battery_percent: int | None
    battery_low: bool = False


@dataclass(frozen=True, slots=True)
class AvailabilityChanged:
    """Zigbee2MQTT's availability or a serial port appearing / going away."""

    device: DeviceRef
    received_at: float
    online: bool


@dataclass(frozen=True, slots=True)
class SamplesReceived:
    """A batch of accelerometer samples from a wearable.

    ``t_s`` is the device's own clock (uptime, seconds; the detectors take time from the
    samples, never from the wall clock); ``received_at`` anchors the batch's last sample to
    the gateway's clock. ``acc_g`` has one row of three axes (g) per sample.
    """

    device: DeviceRef
    received_at: float
    t_s: tuple[float, ...]
    acc_g: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True, slots=True)
class SignalReceived:
    """A block of a one-channel signal on a fixed grid (a bed's pressure/BCG).

    Sample ``i`` is at ``t0_s + i / rate_hz`` seconds of the device's clock; ``values`` are in
    the sensor's units (a lying resident's static pressure about 1.0).
    """

    device: DeviceRef
    received_at: float
    signal: str
    t0_s: float
    rate_hz: float
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class FallReported:
    """A device that detects falls itself (a fall radar): ``certain`` False for "maybe";
    ``cleared`` when it reports no fall any more (so a later report is news again)."""

    device: DeviceRef
    received_at: float
    certain: bool
    cleared: bool = False


@dataclass(frozen=True, slots=True)
class SensorChanged:
    """A home sensor's state: ``kind`` motion / door / exit_door / bed / seat / appliance,
    ``value`` 1 active (motion seen, door open, bed or seat occupied, appliance on), 0 not.

    Zigbee2MQTT repeats a device's whole state with every report (a battery update carries
    ``contact`` again), so the same value may come many times; the consumer keeps changes.
    """

    device: DeviceRef
    received_at: float
    kind: str
    value: int


@dataclass(frozen=True, slots=True)
class HazardReported:
    """A smoke, gas or water-leak alarm's state: ``hazard`` smoke / gas / water_leak,
    ``active`` while detected. Repeated with every report; the consumer keeps changes."""

    device: DeviceRef
    received_at: float
    hazard: str
    active: bool


EdgeEvent = (
    KeyPressed
    | BatteryReported
    | AvailabilityChanged
    | SamplesReceived
    | SignalReceived
    | FallReported
    | SensorChanged
    | HazardReported
)
