"""Home sensors as Zigbee2MQTT reports them, decoded to sensor changes."""

from __future__ import annotations

import pytest

from edge.events import BatteryReported, DeviceRef, SensorChanged
from edge.zigbee2mqtt.converters import CONVERTERS, Problem


def decode(kind: str, payload: dict[str, object]) -> list[object]:
    device = DeviceRef("d", kind, "zigbee2mqtt")
    return list(CONVERTERS[kind](device, payload, 100.0))


def changes(decoded: list[object]) -> list[tuple[str, int]]:
    return [(d.kind, d.value) for d in decoded if isinstance(d, SensorChanged)]


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        ("motion_sensor", {"occupancy": True, "illuminance": 12, "battery": 90}, [("motion", 1)]),
        ("motion_sensor", {"occupancy": False}, [("motion", 0)]),
        # Aqara MCCGQ11LM: contact true = magnet near = door CLOSED.
        ("door_contact", {"contact": False, "battery": 80}, [("door", 1)]),
        ("door_contact", {"contact": True}, [("door", 0)]),
        ("exit_door_contact", {"contact": False}, [("exit_door", 1)]),
        ("bed_sensor", {"occupancy": True}, [("bed", 1)]),
        ("seat_sensor", {"occupancy": False}, [("seat", 0)]),
        ("smart_plug", {"state": "ON", "power": 900}, [("appliance", 1)]),
        ("smart_plug", {"state": "OFF"}, [("appliance", 0)]),
        ("motion_sensor", {"battery": 70}, []),  # a battery report is not a state change
    ],
)
def test_sensor_payloads(
    kind: str, payload: dict[str, object], expected: list[tuple[str, int]]
) -> None:
    assert changes(decode(kind, payload)) == expected


def test_battery_rides_along() -> None:
    decoded = decode("door_contact", {"contact": True, "battery": 55})
    assert any(isinstance(d, BatteryReported) and d.battery_percent == 55 for d in decoded)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("motion_sensor", {"occupancy": "yes"}),
        ("door_contact", {"contact": 1}),
        ("smart_plug", {"state": "toggling"}),
    ],
)
def test_bad_values_are_problems_not_events(kind: str, payload: dict[str, object]) -> None:
    decoded = decode(kind, payload)
    assert changes(decoded) == []
    assert any(isinstance(d, Problem) for d in decoded)


def test_fall_radar_statuses() -> None:
    from edge.events import FallReported

    def report(status: str) -> FallReported:
        [event] = decode("fall_radar", {"fall_down_status": status, "presence": True})
        assert isinstance(event, FallReported)
        return event

    assert (report("maybe_fall").certain, report("maybe_fall").cleared) == (False, False)
    assert report("fall").certain
    assert report("none").cleared
    assert decode("fall_radar", {"presence": True}) == []
