"""Zigbee device kinds as data: what each one publishes, built from small capability pieces.

A kind is named like the gateway's device kind (``GATEWAY_Z2M_DEVICES``) and imitates one real
model as Zigbee2MQTT exposes it. Its payload is the *whole* state, because Zigbee2MQTT
republishes every known property with each message (a door contact's battery report carries
``contact`` again). Adding a device is adding a record to :data:`ZIGBEE_KINDS`.

Quirks recorded here, from Zigbee2MQTT's device pages and ../shared/DOMAIN.md:
- A door contact (Aqara MCCGQ11LM) reports ``contact: true`` when the door is CLOSED.
- Battery devices check in with their whole state roughly hourly (Aqara end devices every
  50-60 min); mains devices report more often. Zigbee2MQTT marks a device offline after
  25 h (battery) or 10 min (mains) without a message, by default.
- Tuya alarms (smoke) expose only ``battery_low``, no percentage; the Aqara water-leak sensor
  exposes both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Json = bool | int | float | str | None
Power = Literal["battery", "mains"]
BATTERY_REPORT_S = 55 * 60.0  # Aqara end devices: a check-in every 50-60 min
MAINS_REPORT_S = 5 * 60.0
LOW_BATTERY_PERCENT = 20  # below this a device with a ``battery_low`` flag raises it


@dataclass(frozen=True)
class Capability:
    """A piece of a device: the state fields it adds, with their values at power-on."""

    name: str
    fields: Mapping[str, Json]


def battery(percent: int = 100, *, voltage: bool = False, low_flag: bool = False) -> Capability:
    """``battery`` (%), optionally ``voltage`` (mV) and the ``battery_low`` flag."""
    fields: dict[str, Json] = {"battery": percent}
    if voltage:
        fields["voltage"] = battery_voltage_mv(percent)
    if low_flag:
        fields["battery_low"] = percent < LOW_BATTERY_PERCENT
    return Capability("battery", fields)


def battery_low_flag() -> Capability:
    """Only ``battery_low``: Tuya alarms report no percentage."""
    return Capability("battery_low", {"battery_low": False})


def battery_voltage_mv(percent: float) -> int:
    """A CR2032-style cell: about 3.0 V full, 2.7 V empty (Aqara reports mV)."""
    return round(2700 + 3.0 * max(0.0, min(100.0, percent)))


def linkquality(value: int = 120) -> Capability:
    return Capability("linkquality", {"linkquality": value})


def occupancy(illuminance: int | None = None) -> Capability:
    fields: dict[str, Json] = {"occupancy": False}
    if illuminance is not None:
        fields["illuminance"] = illuminance
    return Capability("occupancy", fields)


def contact() -> Capability:
    return Capability("contact", {"contact": True})  # closed


def switch(power_w: float = 0.0) -> Capability:
    return Capability("switch", {"state": "OFF", "power": power_w})


def fall_radar() -> Capability:
    return Capability(
        "fall_radar",
        {
            "fall_down_status": "none",
            "presence": False,
            "occupancy": False,
            "static_dwell_alarm": False,
        },
    )


def alarm(key: str, **extra: Json) -> Capability:
    """A hazard alarm's boolean (``smoke``, ``gas``, ``water_leak``) and its companions."""
    return Capability(key, {key: False, **extra})


@dataclass(frozen=True)
class Binary:
    """How a neutral sensor event (1 active / 0 inactive) shows in this kind's state."""

    neutral_kind: str  # motion, door, exit_door, bed, seat, appliance
    active: Mapping[str, Json]
    inactive: Mapping[str, Json]


@dataclass(frozen=True)
class ZigbeeKind:
    name: str  # the gateway's device kind
    vendor: str
    model: str
    power: Power
    capabilities: tuple[Capability, ...]
    binary: Binary | None = None  # the sensor a neutral event drives (replay), if any
    report_interval_s: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.report_interval_s < 0:
            interval = BATTERY_REPORT_S if self.power == "battery" else MAINS_REPORT_S
            object.__setattr__(self, "report_interval_s", interval)

    def initial_state(self) -> dict[str, Json]:
        state: dict[str, Json] = {}
        for capability in self.capabilities:
            state.update(capability.fields)
        return state

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.initial_state())


OPEN, CLOSED = {"contact": False}, {"contact": True}  # contact false = OPEN (quirk above)
OCCUPIED, EMPTY = {"occupancy": True}, {"occupancy": False}

_KINDS = (
    ZigbeeKind("sos_button", "Tuya", "TS0215A_sos", "battery", (battery(80), linkquality(144))),
    ZigbeeKind(
        "motion_sensor",
        "Aqara",
        "RTCGQ11LM",
        "battery",
        (occupancy(illuminance=40), battery(100, voltage=True), linkquality()),
        Binary("motion", OCCUPIED, EMPTY),
    ),
    ZigbeeKind(
        "door_contact",
        "Aqara",
        "MCCGQ11LM",
        "battery",
        (contact(), battery(100, voltage=True), linkquality()),
        Binary("door", OPEN, CLOSED),
    ),
    # The same contact on the home's front door: the gateway watches it for wandering.
    ZigbeeKind(
        "exit_door_contact",
        "Aqara",
        "MCCGQ11LM",
        "battery",
        (contact(), battery(100, voltage=True), linkquality()),
        Binary("exit_door", OPEN, CLOSED),
    ),
    ZigbeeKind(
        "bed_sensor",
        "generic",
        "pressure mat (occupancy)",
        "battery",
        (occupancy(), battery(100), linkquality()),
        Binary("bed", OCCUPIED, EMPTY),
    ),
    ZigbeeKind(
        "seat_sensor",
        "generic",
        "pressure mat (occupancy)",
        "battery",
        (occupancy(), battery(100), linkquality()),
        Binary("seat", OCCUPIED, EMPTY),
    ),
    ZigbeeKind(
        "smart_plug",
        "Tuya",
        "TS011F_plug_1",
        "mains",
        (switch(), linkquality()),
        # What a kettle or microwave draws while on; the gateway reads only ``state``.
        Binary("appliance", {"state": "ON", "power": 850.0}, {"state": "OFF", "power": 0.0}),
    ),
    ZigbeeKind("fall_radar", "Tuya", "MIR-HE200-TY_fall", "mains", (fall_radar(), linkquality())),
    ZigbeeKind(
        "smoke_alarm",
        "Tuya",
        "TS0601_smoke",
        "battery",
        (alarm("smoke"), battery_low_flag(), linkquality()),
    ),
    ZigbeeKind(
        "gas_alarm",
        "Aqara",
        "JTQJ-BF-01LM/BW",
        "mains",
        (alarm("gas", gas_density=0), linkquality()),
    ),
    ZigbeeKind(
        "water_leak_sensor",
        "Aqara",
        "SJCGQ11LM",
        "battery",
        (alarm("water_leak"), battery(100, voltage=True, low_flag=True), linkquality()),
    ),
)

ZIGBEE_KINDS: Mapping[str, ZigbeeKind] = MappingProxyType({k.name: k for k in _KINDS})
BY_NEUTRAL_KIND: Mapping[str, ZigbeeKind] = MappingProxyType(
    {k.binary.neutral_kind: k for k in _KINDS if k.binary is not None}
)
