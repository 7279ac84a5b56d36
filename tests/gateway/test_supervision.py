"""Silence is a state: unknown, ok and offline are different, and going quiet is an alarm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.events import AvailabilityChanged, BatteryReported, DeviceRef
from gateway.outbox import Outbox
from gateway.service import Gateway
from gateway.supervision import DeviceState, DeviceSupervisor
from protocol import decode_uplink
from tests.gateway.stubs import Clock

BUTTON = DeviceRef("call-button-1", "call_button", "serial")


def test_states_and_transitions() -> None:
    clock = Clock(0.0)  # wall and monotonic alike here
    supervisor = DeviceSupervisor({"a": 10.0, "b": 10.0}, now=0.0, monotonic=clock)
    assert supervisor.state("a") is DeviceState.UNKNOWN
    clock.now = 5.0
    assert supervisor.heard("a", 5.0) is False
    assert supervisor.state("a") is DeviceState.OK
    clock.now = 20.0
    assert supervisor.check(20.0) == []  # within two intervals of t=0 for b, of t=5 for a
    clock.now = 20.5
    assert supervisor.check(20.5) == [("b", 0.0)]  # never heard: offline, counted from start
    clock.now = 25.5
    assert supervisor.check(25.5) == [("a", 5.0)]
    clock.now = 100.0
    assert supervisor.check(100.0) == []  # reported once, not on every check
    clock.now = 101.0
    assert supervisor.heard("a", 101.0) is True  # back
    assert supervisor.state("a") is DeviceState.OK
    assert supervisor.heard("unsupervised", 1.0) is False


def test_misses_must_be_positive() -> None:
    with pytest.raises(ValueError, match="misses"):
        DeviceSupervisor({}, 0.0, misses=0)


@pytest.fixture
def gateway(tmp_path: Path) -> tuple[Gateway, Clock]:
    clock = Clock()
    gw = Gateway(
        "gw-1",
        "home-1",
        Outbox(tmp_path / "o.sqlite3"),
        clock=clock,
        monotonic=clock,  # no clock steps in these tests
        supervised_s={BUTTON.device_id: 30.0},
    )
    return gw, clock


def test_silent_device_raises_one_technical_alarm(gateway: Any) -> None:
    gw, clock = gateway
    gw.handle(BatteryReported(BUTTON, clock.now, 90))  # a heartbeat
    heard_at = clock.now
    clock.now += 59.0
    gw._supervise()
    assert gw.outbox.depth() == 0
    # The port still being open says nothing about the device.
    gw.handle(AvailabilityChanged(BUTTON, clock.now, online=True))
    clock.now += 2.0
    gw._supervise()
    gw._supervise()
    [item] = gw.outbox.due(clock.now)
    alarm = decode_uplink("eldercare/v1/gw-1/up/alarm", item.payload)
    assert alarm.body.kind == "device_silent"  # type: ignore[union-attr]
    assert alarm.device_id == BUTTON.device_id
    assert alarm.device_time.timestamp() == pytest.approx(heard_at)  # last heard
    assert gw.supervisor.state(BUTTON.device_id) is DeviceState.OFFLINE
    gw.handle(BatteryReported(BUTTON, clock.now, 90))
    assert gw.supervisor.state(BUTTON.device_id) is DeviceState.OK
