"""Every device kind of a family-care-bed kit, as data. Adding a device is adding a definition
here and listing it in ``KINDS`` (a test fails for a definition left out).

Heartbeats, by transport:
- Serial devices send a HEARTBEAT frame; a one-key call button is supervised at minute level
  (150 s: offline within 5 minutes, the issue's bound).
- Battery Zigbee devices sleep and cannot be polled; Aqara/Xiaomi sensors re-report their state
  about every 50-60 minutes, so one hour is the tightest honest interval (two missed: offline
  after 2 h, against Zigbee2MQTT's own 25 h). Mains-powered Zigbee devices (radar, plug) are
  pinged by Zigbee2MQTT and report often: 10 minutes.

Examples are payloads as the devices publish them (../shared/DOMAIN.md, Zigbee2MQTT's device
pages) and frames as ``docs/serial-protocol.md`` specifies them; the conformance suite decodes
each and compares with ``expect`` (see ``edge.devices.conformance.summary``).
"""

from __future__ import annotations

from typing import Any

from edge.devices.capabilities import (
    Battery,
    FallStatus,
    Hazard,
    Keys,
    Samples,
    Signal,
    Switch,
    contact,
    occupancy,
)
from edge.devices.kinds import DeviceKind, Example, Expected, Fingerprint
from edge.events import Key
from edge.serial.payloads import FrameType

MINUTE = 60.0
HOUR = 3600.0
ZIGBEE_BATTERY_S = HOUR
ZIGBEE_MAINS_S = 10 * MINUTE
SERIAL_CALL_BUTTON_S = 150.0


def _serial(frame_type: FrameType, payload_hex: str, *expect: Expected, note: str = "") -> Example:
    return Example("serial", (frame_type, bytes.fromhex(payload_hex)), expect, note)


def _z2m(state: dict[str, Any], *expect: Expected, note: str = "") -> Example:
    return Example("zigbee2mqtt", state, expect, note)


HOURLY_REPORT = _z2m(
    {"battery": 91, "voltage": 3005, "linkquality": 120},
    ("battery", 91, False),
    note="the hourly re-report carries the battery",
)


CALL_BUTTON = DeviceKind(
    name="call_button",
    title="One-key call button (emergency, service request, call family)",
    capabilities=(Keys(keys=(Key.EMERGENCY, Key.SERVICE, Key.FAMILY), actions={}), Battery()),
    heartbeat_s={"serial": SERIAL_CALL_BUTTON_S},
    examples=(
        _serial(FrameType.KEY_PRESS, "01e8030000", ("key", "emergency")),
        _serial(FrameType.KEY_PRESS, "0200000000", ("key", "service")),
        _serial(FrameType.KEY_PRESS, "0300000000", ("key", "family")),
        Example(
            "serial",
            (FrameType.HEARTBEAT, bytes.fromhex("5a0010270000")),
            (("battery", 90, False),),
        ),
        Example(
            "serial",
            (FrameType.HEARTBEAT, bytes.fromhex("0c0210270000")),
            (("battery", 12, True),),
            "flags bit 1: battery low",
        ),
        _serial(FrameType.KEY_PRESS, "0900000000", ("error", "bad_value")),
        _serial(FrameType.SAMPLES, "00" * 7, ("error", "unexpected_frame")),
    ),
)

FALL_PENDANT = DeviceKind(
    name="fall_pendant",
    title="Wearable fall pendant: call keys and a belt accelerometer streaming samples",
    capabilities=(
        Keys(keys=(Key.EMERGENCY, Key.SERVICE), actions={}),
        Samples(signal="acceleration"),
        Battery(),
    ),
    heartbeat_s={"serial": SERIAL_CALL_BUTTON_S},
    examples=(
        _serial(FrameType.KEY_PRESS, "0100000000", ("key", "emergency")),
        Example(
            "serial",
            # Two samples, 20 ms apart: (0, 0, 1000) and (10, -20, 980) milli-g.
            (FrameType.SAMPLES, bytes.fromhex("01e80300000200000000000000e803c8000a00ecffd403")),
            (("samples", 2, 1.0, 1.02),),
        ),
        _serial(FrameType.SAMPLES, "01e80300000300", ("error", "bad_length")),
    ),
)

SOS_BUTTON = DeviceKind(
    name="sos_button",
    title="Zigbee SOS button (e.g. Tuya TS0215A_sos)",
    capabilities=(Keys(keys=(Key.EMERGENCY,)), Battery()),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_BATTERY_S},
    fingerprints=(Fingerprint("zigbee2mqtt", "TS0215A_sos"),),
    notes="Sleepy battery device: supervised hourly, not at minute level like a serial button.",
    examples=(
        Example(
            "zigbee2mqtt",
            {"action": "emergency", "battery": 80, "linkquality": 144},
            (("key", "emergency", 80), ("battery", 80, False)),
        ),
        Example("zigbee2mqtt", {"action": ""}, (), "clears Home Assistant's sensor; no release"),
        Example("zigbee2mqtt", {"action": 7}, (("error", "bad_value"),)),
        Example(
            "zigbee2mqtt",
            {"action": "emergency", "battery": "full"},
            (("key", "emergency", None), ("problem", "bad_value")),
            "a garbled battery never swallows the press",
        ),
        HOURLY_REPORT,
    ),
)

FALL_RADAR = DeviceKind(
    name="fall_radar",
    title="Ceiling fall radar (e.g. Tuya MIR-HE200-TY_fall)",
    capabilities=(FallStatus(),),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_MAINS_S},
    fingerprints=(Fingerprint("zigbee2mqtt", "MIR-HE200-TY_fall"),),
    notes="presence is not motion: a person lying still is 'present', so it is not activity.",
    examples=(
        Example(
            "zigbee2mqtt",
            {"fall_down_status": "maybe_fall", "presence": True},
            (("fall", False, False),),
        ),
        Example("zigbee2mqtt", {"fall_down_status": "fall"}, (("fall", True, False),)),
        Example("zigbee2mqtt", {"fall_down_status": "none"}, (("fall", False, True),)),
        Example("zigbee2mqtt", {"fall_down_status": "lying"}, (("problem", "bad_value"),)),
        Example("zigbee2mqtt", {"presence": True, "static_dwell_alarm": False}, ()),
    ),
)

MOTION_SENSOR = DeviceKind(
    name="motion_sensor",
    title="PIR motion sensor (e.g. Aqara RTCGQ11LM)",
    capabilities=(occupancy("motion"), Battery()),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_BATTERY_S},
    fingerprints=(Fingerprint("zigbee2mqtt", "RTCGQ11LM"),),
    examples=(
        Example(
            "zigbee2mqtt",
            {"occupancy": True, "illuminance": 23, "battery": 100},
            (("sensor", "motion", 1), ("battery", 100, False)),
        ),
        Example("zigbee2mqtt", {"occupancy": False}, (("sensor", "motion", 0),)),
        Example("zigbee2mqtt", {"occupancy": "yes"}, (("problem", "bad_value"),)),
    ),
)

DOOR_CONTACT = DeviceKind(
    name="door_contact",
    title="Door or window contact (e.g. Aqara MCCGQ11LM)",
    capabilities=(contact("door"), Battery()),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_BATTERY_S},
    fingerprints=(Fingerprint("zigbee2mqtt", "MCCGQ11LM"),),
    examples=(
        Example("zigbee2mqtt", {"contact": False}, (("sensor", "door", 1),), "false = OPEN"),
        Example(
            "zigbee2mqtt",
            {"contact": True, "battery": 55},
            (("sensor", "door", 0), ("battery", 55, False)),
        ),
    ),
)

EXIT_DOOR_CONTACT = DeviceKind(
    name="exit_door_contact",
    title="The same contact on the home's exit door (wandering, empty home)",
    capabilities=(contact("exit_door"), Battery()),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_BATTERY_S},
    notes="Same hardware as door_contact: chosen by configuration, never by discovery.",
    examples=(Example("zigbee2mqtt", {"contact": False}, (("sensor", "exit_door", 1),)),),
)

BED_SENSOR = DeviceKind(
    name="bed_sensor",
    title="Bed sensor: occupancy (Zigbee pressure mat) or the raw pressure/BCG signal (serial)",
    capabilities=(occupancy("bed"), Battery(), Signal(signal="bed_pressure")),
    heartbeat_s={"serial": SERIAL_CALL_BUTTON_S, "zigbee2mqtt": ZIGBEE_BATTERY_S},
    notes="Serial: 100 Hz pressure in SIGNAL frames; heart and breathing rates come from it.",
    examples=(
        Example("zigbee2mqtt", {"occupancy": True}, (("sensor", "bed", 1),)),
        Example(
            "zigbee2mqtt",
            {"occupancy": False, "battery": 12, "battery_low": True},
            (("sensor", "bed", 0), ("battery", 12, True)),
        ),
        # 3 samples at 100 Hz from uptime 1 s: 1.000000, 1.000010, 0.999990 (micro-units).
        _serial(
            FrameType.SIGNAL,
            "01e80300006400030040420f004a420f0036420f00",
            ("signal", "bed_pressure", 100.0, 3, 1.0),
        ),
        _serial(FrameType.SIGNAL, "01e803000000000000", ("error", "bad_value")),  # 0 Hz
        _serial(FrameType.SIGNAL, "02e803000064000000", ("error", "bad_value")),  # kind 2
        _serial(FrameType.SAMPLES, "01e80300000000", ("error", "unexpected_frame")),
    ),
)

SEAT_SENSOR = DeviceKind(
    name="seat_sensor",
    title="Armchair pressure pad (occupancy)",
    capabilities=(occupancy("seat"), Battery()),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_BATTERY_S},
    examples=(Example("zigbee2mqtt", {"occupancy": True}, (("sensor", "seat", 1),)),),
)

SMART_PLUG = DeviceKind(
    name="smart_plug",
    title="Smart plug in front of an appliance (kettle, TV)",
    capabilities=(Switch(kind="appliance"),),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_MAINS_S},
    fingerprints=(Fingerprint("zigbee2mqtt", "TS011F_plug_1"),),
    examples=(
        Example("zigbee2mqtt", {"state": "ON", "power": 1800}, (("sensor", "appliance", 1),)),
        Example("zigbee2mqtt", {"state": "OFF", "power": 0}, (("sensor", "appliance", 0),)),
        Example("zigbee2mqtt", {"state": "TOGGLE"}, (("problem", "bad_value"),)),
    ),
)

SMOKE_ALARM = DeviceKind(
    name="smoke_alarm",
    title="Smoke alarm (e.g. Xiaomi JTYJ-GD-01LM/BW)",
    capabilities=(Hazard(field_name="smoke"), Battery()),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_BATTERY_S},
    fingerprints=(Fingerprint("zigbee2mqtt", "JTYJ-GD-01LM/BW"),),
    examples=(
        Example(
            "zigbee2mqtt",
            {"smoke": True, "smoke_density": 4, "battery": 97},
            (("hazard", "smoke", True), ("battery", 97, False)),
        ),
        Example("zigbee2mqtt", {"smoke": False}, (("hazard", "smoke", False),)),
        Example("zigbee2mqtt", {"smoke": 1}, (("problem", "bad_value"),)),
    ),
)

GAS_ALARM = DeviceKind(
    name="gas_alarm",
    title="Natural gas alarm (e.g. Xiaomi JTQJ-BF-01LM/BW), mains powered",
    capabilities=(Hazard(field_name="gas"),),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_MAINS_S},
    fingerprints=(Fingerprint("zigbee2mqtt", "JTQJ-BF-01LM/BW"),),
    examples=(
        Example("zigbee2mqtt", {"gas": True, "gas_density": 12}, (("hazard", "gas", True),)),
        Example("zigbee2mqtt", {"gas": False, "gas_density": 0}, (("hazard", "gas", False),)),
    ),
)

WATER_LEAK_SENSOR = DeviceKind(
    name="water_leak_sensor",
    title="Water-leak sensor (e.g. Aqara SJCGQ11LM)",
    capabilities=(Hazard(field_name="water_leak"), Battery()),
    heartbeat_s={"zigbee2mqtt": ZIGBEE_BATTERY_S},
    fingerprints=(Fingerprint("zigbee2mqtt", "SJCGQ11LM"),),
    examples=(
        Example(
            "zigbee2mqtt",
            {"water_leak": True, "battery_low": False},
            (("hazard", "water_leak", True), ("battery", None, False)),
        ),
        Example("zigbee2mqtt", {"battery_low": True}, (("battery", None, True),)),
    ),
)

KINDS: tuple[DeviceKind, ...] = (
    CALL_BUTTON,
    FALL_PENDANT,
    SOS_BUTTON,
    FALL_RADAR,
    MOTION_SENSOR,
    DOOR_CONTACT,
    EXIT_DOOR_CONTACT,
    BED_SENSOR,
    SEAT_SENSOR,
    SMART_PLUG,
    SMOKE_ALARM,
    GAS_ALARM,
    WATER_LEAK_SENSOR,
)
