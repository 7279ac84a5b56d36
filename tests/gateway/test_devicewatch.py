"""Device health and hazards: low battery once per episode, Zigbee2MQTT's offline believed,
its online not; smoke, gas and water raise an alarm on the change, not on every report."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.events import AvailabilityChanged, BatteryReported, DeviceRef, HazardReported
from gateway.devicewatch import BRIDGE, DeviceAlarm, DeviceWatch
from gateway.outbox import Outbox
from gateway.service import Gateway
from gateway.supervision import DeviceState
from protocol import AlarmMessage, Channel, decode_uplink
from tests.gateway.stubs import Clock, StubUplink

BUTTON = DeviceRef("call-button-1", "call_button", "serial")
PIR = DeviceRef("hall-pir", "motion_sensor", "zigbee2mqtt")
LEAK = DeviceRef("bath-leak", "water_leak_sensor", "zigbee2mqtt")
SMOKE = DeviceRef("kitchen-smoke", "smoke_alarm", "zigbee2mqtt")


def test_low_battery_is_one_alarm_per_episode() -> None:
    watch = DeviceWatch({}, 0.0)
    assert watch.on_battery(BatteryReported(PIR, 1.0, 40)) is None
    alarm = watch.on_battery(BatteryReported(PIR, 2.0, 15))  # at the kind's threshold
    assert isinstance(alarm, DeviceAlarm)
    assert (alarm.kind.value, alarm.since) == ("low_battery", 2.0)
    assert alarm.detail == {"battery_low": False, "threshold": 15, "battery_percent": 15}
    assert watch.on_battery(BatteryReported(PIR, 3.0, 14)) is None
    assert watch.on_battery(BatteryReported(PIR, 4.0, 20)) is None  # a warm battery recovers a bit
    assert watch.on_battery(BatteryReported(PIR, 5.0, 12)) is None  # still the same episode
    assert watch.on_battery(BatteryReported(PIR, 6.0, 100)) is None  # replaced
    assert watch.on_battery(BatteryReported(PIR, 7.0, 10)) is not None  # a new episode


def test_the_devices_own_low_flag_counts_even_without_a_level() -> None:
    watch = DeviceWatch({}, 0.0)
    alarm = watch.on_battery(BatteryReported(LEAK, 1.0, None, battery_low=True))
    assert alarm is not None
    assert alarm.detail == {"battery_low": True, "threshold": 15}
    assert watch.on_battery(BatteryReported(LEAK, 2.0, None, battery_low=False)) is None
    assert watch.on_battery(BatteryReported(LEAK, 3.0, None, battery_low=True)) is not None


def test_zigbee2mqtt_offline_is_believed_at_once_and_only_once() -> None:
    clock = Clock(0.0)  # wall and monotonic alike here
    watch = DeviceWatch({PIR.device_id: 3600.0}, 0.0, monotonic=clock)
    watch.heard(PIR.device_id, 10.0)
    alarm = watch.on_availability(AvailabilityChanged(PIR, 20.0, online=False))
    assert alarm is not None
    assert (alarm.kind.value, alarm.detail) == (
        "device_silent",
        {"reason": "zigbee2mqtt_availability"},
    )
    assert watch.state(PIR.device_id) is DeviceState.OFFLINE
    assert watch.on_availability(AvailabilityChanged(PIR, 30.0, online=False)) is None
    # Zigbee2MQTT's "online" (often a retained message) is not the device speaking.
    assert watch.on_availability(AvailabilityChanged(PIR, 40.0, online=True)) is None
    assert watch.state(PIR.device_id) is DeviceState.OFFLINE
    clock.now = 50.0
    assert watch.heard(PIR.device_id, 50.0) is True  # a report from the device itself
    clock.now = 50.0 + 2 * 3600.0 - 1
    assert watch.silent(clock.now, {PIR.device_id: PIR}) == []


def test_the_bridge_going_offline_is_one_alarm_and_its_return_clears_it() -> None:
    watch = DeviceWatch({}, 0.0)
    alarm = watch.on_availability(AvailabilityChanged(BRIDGE, 5.0, online=False))
    assert alarm is not None
    assert alarm.detail == {"reason": "bridge_offline"}
    assert watch.on_availability(AvailabilityChanged(BRIDGE, 6.0, online=False)) is None
    watch.on_availability(AvailabilityChanged(BRIDGE, 7.0, online=True))
    assert watch.state(BRIDGE.device_id) is DeviceState.OK
    assert watch.on_availability(AvailabilityChanged(BRIDGE, 8.0, online=False)) is not None


def test_silence_is_timed_from_the_kinds_interval() -> None:
    clock = Clock(0.0)
    watch = DeviceWatch({PIR.device_id: 3600.0}, 0.0, monotonic=clock)
    clock.now = 100.0
    watch.heard(PIR.device_id, 100.0)
    clock.now = 100.0 + 7200.0
    assert watch.silent(clock.now, {PIR.device_id: PIR}) == []
    clock.now = 100.0 + 7200.5
    [alarm] = watch.silent(clock.now, {PIR.device_id: PIR})
    assert (alarm.device, alarm.since, alarm.kind.value) == (PIR, 100.0, "device_silent")


HOUR_S = 3600.0


class SteppedClocks:
    """A wall clock NTP may step, and the monotonic clock beside it that only runs on."""

    def __init__(self) -> None:
        self.wall = Clock(1_800_000_000.0)
        self.monotonic = Clock(5_000.0)

    def run(self, seconds: float) -> None:
        self.wall.now += seconds
        self.monotonic.now += seconds

    def step_wall(self, seconds: float) -> None:
        self.wall.now += seconds


def test_a_wall_clock_step_forward_does_not_make_devices_silent() -> None:
    clocks = SteppedClocks()
    watch = DeviceWatch({PIR.device_id: 60.0}, clocks.wall.now, monotonic=clocks.monotonic)
    watch.heard(PIR.device_id, clocks.wall.now)
    clocks.run(30.0)
    clocks.step_wall(HOUR_S)  # NTP corrects a gateway that booted an hour behind
    assert watch.silent(clocks.wall.now, {PIR.device_id: PIR}) == []
    assert watch.state(PIR.device_id) is DeviceState.OK


def test_a_wall_clock_step_back_does_not_delay_a_silence_alarm() -> None:
    clocks = SteppedClocks()
    watch = DeviceWatch({PIR.device_id: 60.0}, clocks.wall.now, monotonic=clocks.monotonic)
    heard_at = clocks.wall.now
    watch.heard(PIR.device_id, heard_at)
    clocks.run(30.0)
    clocks.step_wall(-HOUR_S)
    clocks.run(89.0)
    assert watch.silent(clocks.wall.now, {PIR.device_id: PIR}) == []
    clocks.run(1.5)  # two intervals after it was last heard, as the monotonic clock counts
    [alarm] = watch.silent(clocks.wall.now, {PIR.device_id: PIR})
    assert (alarm.kind.value, alarm.since) == ("device_silent", heard_at)  # wall time reported


@pytest.mark.parametrize(("device", "hazard"), [(SMOKE, "smoke"), (LEAK, "water_leak")])
def test_a_hazard_alarms_on_the_change_not_on_every_report(device: DeviceRef, hazard: str) -> None:
    watch = DeviceWatch({}, 0.0)
    assert watch.on_hazard(HazardReported(device, 1.0, hazard, False)) is None
    alarm = watch.on_hazard(HazardReported(device, 2.0, hazard, True))
    assert isinstance(alarm, DeviceAlarm)
    assert alarm.kind.value == hazard
    assert watch.on_hazard(HazardReported(device, 3.0, hazard, True)) is None  # re-report
    assert watch.on_hazard(HazardReported(device, 4.0, hazard, False)) is False  # over
    assert isinstance(watch.on_hazard(HazardReported(device, 5.0, hazard, True)), DeviceAlarm)


def _alarms(gateway: Gateway, clock: Clock) -> list[AlarmMessage]:
    items = gateway.outbox.due(clock.now + 1e6)
    messages = [decode_uplink(f"eldercare/v1/gw-1/up/{i.channel}", i.payload) for i in items]
    return [m for m in messages if isinstance(m, AlarmMessage)]


def test_the_gateway_raises_hazard_battery_and_offline_alarms_through_the_outbox(
    tmp_path: Path,
) -> None:
    clock = Clock()
    gateway = Gateway(
        "gw-1",
        "home-1",
        Outbox(tmp_path / "o.sqlite3"),
        clock=clock,
        devices={d.device_id: d for d in (SMOKE, PIR)},
        supervised_s={SMOKE.device_id: 3600.0, PIR.device_id: 3600.0},
        rooms={SMOKE.device_id: "kitchen"},
    )
    uplink = StubUplink()
    gateway.uplink = uplink  # type: ignore[assignment]
    gateway.handle(HazardReported(SMOKE, clock.now, "smoke", True))
    gateway.handle(HazardReported(SMOKE, clock.now + 60, "smoke", True))
    gateway.handle(BatteryReported(PIR, clock.now, 9, battery_low=True))
    gateway.handle(AvailabilityChanged(PIR, clock.now, online=False))
    alarms = _alarms(gateway, clock)
    assert [(a.body.kind.value, a.device_id, a.body.priority) for a in alarms] == [
        ("smoke", "kitchen-smoke", 0),
        ("low_battery", "hall-pir", 7),
        ("device_silent", "hall-pir", 5),
    ]
    assert alarms[0].body.detail == {"hazard": "smoke", "room": "kitchen"}
    assert alarms[0].body.origin.device_kind == "smoke_alarm"
    assert uplink.wakes == 3
    gateway.handle(HazardReported(SMOKE, clock.now + 120, "smoke", False))
    events = [
        decode_uplink("eldercare/v1/gw-1/up/event", p)
        for c, p in uplink.published
        if c is Channel.EVENT
    ]
    assert [e.body.kind for e in events][-1] == "smoke_cleared"  # type: ignore[union-attr]
