"""Every simulated Zigbee kind publishes what the real device publishes through Zigbee2MQTT,
and, where the gateway has a converter for the kind, decodes to the event it stands for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from firmware_sim.zigbee_device import SosButton, ZigbeeDevice, make_device
from firmware_sim.zigbee_kinds import BY_NEUTRAL_KIND, ZIGBEE_KINDS
from firmware_sim.zigbee_record import RecordingNetwork

from edge.devices import REGISTRY
from edge.events import DeviceRef, FallReported, KeyPressed, SensorChanged

NOW = 1_700_000_000.0

# The properties Zigbee2MQTT exposes for each model, with their JSON types (from
# Zigbee2MQTT's device pages and ../shared/DOMAIN.md). A kind may not add or lose one.
REAL_SHAPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "sos_button": {"battery": int, "linkquality": int},
    "motion_sensor": {
        "occupancy": bool,
        "illuminance": int,
        "battery": int,
        "voltage": int,
        "linkquality": int,
    },
    "door_contact": {"contact": bool, "battery": int, "voltage": int, "linkquality": int},
    "exit_door_contact": {"contact": bool, "battery": int, "voltage": int, "linkquality": int},
    "bed_sensor": {"occupancy": bool, "battery": int, "linkquality": int},
    "seat_sensor": {"occupancy": bool, "battery": int, "linkquality": int},
    "smart_plug": {"state": str, "power": (int, float), "linkquality": int},
    "fall_radar": {
        "fall_down_status": str,
        "presence": bool,
        "occupancy": bool,
        "static_dwell_alarm": bool,
        "linkquality": int,
    },
    "smoke_alarm": {"smoke": bool, "battery_low": bool, "linkquality": int},
    "gas_alarm": {"gas": bool, "gas_density": int, "linkquality": int},
    "water_leak_sensor": {
        "water_leak": bool,
        "battery_low": bool,
        "battery": int,
        "voltage": int,
        "linkquality": int,
    },
}


def decode(kind: str, payload: Mapping[str, Any]) -> list[Any]:
    """What the gateway's converter for ``kind`` makes of a simulated payload."""
    return REGISTRY.get(kind).decode_z2m(DeviceRef("dev", kind, "zigbee2mqtt"), payload, NOW)


def test_every_kind_has_a_real_shape_and_no_two_imitate_the_same_role() -> None:
    assert set(ZIGBEE_KINDS) == set(REAL_SHAPES)
    assert all(name == kind.name for name, kind in ZIGBEE_KINDS.items())


def test_every_zigbee_kind_the_edge_knows_can_be_simulated() -> None:
    edge_kinds = {k.name for k in REGISTRY.on("zigbee2mqtt")}
    assert edge_kinds <= set(ZIGBEE_KINDS), edge_kinds - set(ZIGBEE_KINDS)


@pytest.mark.parametrize("kind", sorted(REAL_SHAPES))
def test_state_report_has_exactly_the_real_properties(kind: str) -> None:
    network = RecordingNetwork()
    device = make_device(network, f"{kind}-1", kind, clock=lambda: NOW)
    device.report(NOW)

    [message] = network.messages
    assert message.topic == f"zigbee2mqtt/{kind}-1"
    assert not message.retain
    payload = message.json()
    assert isinstance(payload, dict)
    shape = REAL_SHAPES[kind]
    assert set(payload) == set(shape)
    for field, types in shape.items():
        assert isinstance(payload[field], types), (field, payload[field])
        assert not isinstance(payload[field], bool) or types is bool, field


@pytest.mark.parametrize("kind", sorted(REAL_SHAPES))
def test_announce_publishes_retained_availability_online(kind: str) -> None:
    network = RecordingNetwork()
    device = make_device(network, f"{kind}-1", kind)
    device.announce(NOW)
    device.go_offline()

    availability = [m for m in network.messages if m.topic.endswith("/availability")]
    assert [(m.topic, m.json(), m.retain) for m in availability] == [
        (f"zigbee2mqtt/{kind}-1/availability", {"state": "online"}, True),
        (f"zigbee2mqtt/{kind}-1/availability", {"state": "offline"}, True),
    ]
    assert not device.report(NOW + 1)  # offline: the radio is silent


@pytest.mark.parametrize("kind", sorted(ZIGBEE_KINDS))
def test_check_ins_come_at_the_kind_interval_and_repeat_the_whole_state(kind: str) -> None:
    network = RecordingNetwork()
    device = make_device(network, "d", kind)
    device.announce(NOW)
    interval = device.kind.report_interval_s
    first = device.next_report_at
    assert first is not None
    # Paired at different times, devices do not all check in together: a phase per name.
    assert NOW + interval / 2 <= first <= NOW + interval
    before = len(network.states("d"))

    assert not device.tick(first - 1)
    assert device.tick(first)
    assert not device.tick(first + interval - 1)
    assert device.tick(first + interval)

    states = network.states("d")
    assert len(states) == before + 2
    assert states[-1] == device.state
    battery_powered = device.kind.power == "battery"
    # Battery devices check in roughly hourly, mains ones more often.
    assert (45 * 60 <= interval <= 75 * 60) if battery_powered else (interval <= 10 * 60)


@pytest.mark.parametrize("kind", sorted(k.name for k in BY_NEUTRAL_KIND.values()))
def test_binary_sensor_decodes_to_the_neutral_event(kind: str) -> None:
    network = RecordingNetwork()
    device = make_device(network, "s", kind)
    device.set_active(True)
    device.set_active(False)
    binary = device.kind.binary
    assert binary is not None

    active, inactive = network.states("s")
    if kind in ("door_contact", "exit_door_contact"):
        # Quirk of the real contact: false means the door is OPEN.
        assert (active["contact"], inactive["contact"]) == (False, True)
    changes = [
        [e for e in decode(kind, payload) if isinstance(e, SensorChanged)]
        for payload in (active, inactive)
    ]
    assert [[(e.kind, e.value) for e in c] for c in changes] == [
        [(binary.neutral_kind, 1)],
        [(binary.neutral_kind, 0)],
    ]


def test_sos_press_is_an_emergency_and_its_empty_action_is_nothing() -> None:
    network = RecordingNetwork()
    button = SosButton(network, "sos-1", battery=63, clock=lambda: NOW)
    pressed = button.press()

    assert pressed.device_id == "sos-1"
    assert pressed.written_at == NOW
    press, cleared = (m.json() for m in network.messages)
    assert press == {"action": "emergency", "battery": 63, "linkquality": 144}
    assert cleared == {"action": ""}
    [key, _battery] = decode("sos_button", press)
    assert isinstance(key, KeyPressed)
    assert key.battery_percent == 63
    assert not [e for e in decode("sos_button", cleared) if isinstance(e, KeyPressed)]
    assert "action" not in button.state  # an action is an event, never held state


@pytest.mark.parametrize(
    ("status", "certain", "cleared"),
    [("maybe_fall", False, False), ("fall", True, False), ("none", False, True)],
)
def test_fall_radar_status_decodes_as_the_gateway_reads_it(
    status: str, certain: bool, cleared: bool
) -> None:
    network = RecordingNetwork()
    radar = make_device(network, "radar", "fall_radar")
    radar.update({"fall_down_status": status, "presence": True, "occupancy": True})

    [payload] = network.states("radar")
    assert payload["presence"] is True
    [fall] = decode("fall_radar", payload)
    assert isinstance(fall, FallReported)
    assert (fall.certain, fall.cleared) == (certain, cleared)


@pytest.mark.parametrize(
    ("kind", "alarm"),
    [("smoke_alarm", "smoke"), ("gas_alarm", "gas"), ("water_leak_sensor", "water_leak")],
)
def test_hazard_alarm_raises_and_clears_its_boolean(kind: str, alarm: str) -> None:
    network = RecordingNetwork()
    device = make_device(network, "hazard", kind)
    changes: dict[str, Any] = {alarm: True}
    if kind == "gas_alarm":
        changes["gas_density"] = 35
    device.update(changes)
    device.update({alarm: False})

    raised, cleared = network.states("hazard")
    assert (raised[alarm], cleared[alarm]) == (True, False)
    assert set(raised) == set(REAL_SHAPES[kind])
    hazards = [
        [(e.hazard, e.active) for e in decode(kind, p) if hasattr(e, "hazard")]
        for p in (raised, cleared)
    ]
    assert hazards == [[(alarm, True)], [(alarm, False)]]


def test_battery_level_shows_in_every_field_the_kind_has() -> None:
    network = RecordingNetwork()
    leak = make_device(network, "leak", "water_leak_sensor")
    smoke = make_device(network, "smoke", "smoke_alarm")
    leak.set_battery(15)
    smoke.set_battery(15)

    assert network.states("leak")[-1] == {
        **leak.state,
        "battery": 15,
        "battery_low": True,
        "voltage": 2745,
    }
    assert network.states("smoke")[-1]["battery_low"] is True
    plug = make_device(network, "plug", "smart_plug")
    with pytest.raises(ValueError, match="mains"):
        plug.set_battery(10)


def test_an_unknown_field_or_kind_is_refused() -> None:
    network = RecordingNetwork()
    with pytest.raises(ValueError, match="unknown Zigbee device kind"):
        make_device(network, "x", "toaster")
    device: ZigbeeDevice = make_device(network, "pir", "motion_sensor")
    with pytest.raises(ValueError, match="contact"):
        device.update({"contact": False})
    assert network.messages == []
