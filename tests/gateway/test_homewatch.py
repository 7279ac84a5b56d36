"""The home's sensors through the live gateway: Zigbee2MQTT reports in, home alarms out,
and the inactivity pre-warning answered with a key press. The gateway's clock is the home's
local time here (``local_time`` is the identity)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest

from edge.events import DeviceRef, Key, KeyPressed, SensorChanged
from edge.serial.payloads import Ack, AckStage, Indicate, Pattern
from gateway.detect.checkin import CheckinConfig
from gateway.outbox import Outbox
from gateway.service import Gateway
from protocol import Channel, decode_uplink
from tests.gateway.stubs import Clock, StubLink, StubUplink

BUTTON = DeviceRef("call-button-1", "call_button", "serial")
HALL_PIR = DeviceRef("hall-pir", "motion_sensor", "zigbee2mqtt")
BATH_DOOR = DeviceRef("bath-door", "door_contact", "zigbee2mqtt")
BED = DeviceRef("bed", "bed_sensor", "zigbee2mqtt")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def home_gateway(tmp_path: Path, started: str, **settings: Any) -> tuple[Gateway, StubLink, Clock]:
    """A gateway started at local time ``started`` with a call button on a stub link."""
    clock = Clock(at(started))
    gateway = Gateway(
        "gw-1",
        "home-1",
        Outbox(tmp_path / "o.sqlite3"),
        clock=clock,
        local_time=lambda t: t,
        **settings,
    )
    link = StubLink()
    gateway.serial_links[BUTTON.device_id] = link  # type: ignore[assignment]
    return gateway, link, clock


@pytest.fixture
def rig(tmp_path: Path) -> tuple[Gateway, StubLink, Clock]:
    rooms = {"hall-pir": "hall", "bath-door": "bathroom", "bed": "bedroom"}
    return home_gateway(tmp_path, "2026-11-23 12:00:00", rooms=rooms)


def run_until(gateway: Gateway, clock: Clock, until: float, step: float = 60.0) -> None:
    """The gateway's loop ticks about once a second; once a minute is enough here."""
    while clock.now < until:
        clock.now = min(until, clock.now + step)
        gateway.home.tick()


def sent(gateway: Gateway, clock: Clock) -> list[Any]:
    return [
        decode_uplink(f"eldercare/v1/gw-1/up/{i.channel}", i.payload)
        for i in gateway.outbox.due(clock.now + 1)
    ]


def test_repeated_reports_are_not_signs_of_life(rig: Any) -> None:
    gateway, link, clock = rig
    gateway.handle(SensorChanged(HALL_PIR, clock.now, "motion", 1))
    gateway.handle(SensorChanged(HALL_PIR, clock.now + 60, "motion", 0))
    # The bathroom door contact re-reports "closed" with its battery every 20 minutes.
    for minute in range(20, 6 * 60, 20):
        run_until(gateway, clock, at("2026-11-23 12:00:00") + minute * 60)
        gateway.handle(SensorChanged(BATH_DOOR, clock.now, "door", 0))
    kinds = [m.body.kind for m in sent(gateway, clock) if m.type == "alarm"]
    assert kinds == ["inactivity"]  # the collapse at noon is not hidden by the door's reports
    assert Indicate(Pattern.PROMPT, Pattern.PROMPT, 600) in link.sent  # pre-warned first


def test_key_press_answers_the_prewarning(rig: Any) -> None:
    gateway, link, clock = rig
    gateway.handle(SensorChanged(HALL_PIR, clock.now, "motion", 1))
    gateway.handle(SensorChanged(HALL_PIR, clock.now + 60, "motion", 0))
    while Indicate(Pattern.PROMPT, Pattern.PROMPT, 600) not in link.sent:
        run_until(gateway, clock, clock.now + 60)
        assert clock.now < at("2026-11-24 00:00:00"), "no pre-warning within 12 h"
    clock.now += 120
    gateway.handle(KeyPressed(BUTTON, Key.SERVICE, clock.now, clock.now, frame_seq=9))
    run_until(gateway, clock, clock.now + 15 * 60)
    messages = sent(gateway, clock)
    assert [(m.type, m.body.kind) for m in messages] == [("event", "prompt_answered")]
    assert Indicate(Pattern.OFF, Pattern.OFF, 0) in link.sent
    assert Ack(9, AckStage.RECEIVED) in link.sent


def test_out_of_bed_at_night_from_zigbee_reports(rig: Any) -> None:
    gateway, _, clock = rig
    clock.now = at("2026-11-23 23:00:00")
    gateway.handle(SensorChanged(BED, clock.now, "bed", 1))
    clock.now = at("2026-11-24 02:00:00")
    gateway.handle(SensorChanged(BED, clock.now, "bed", 0))
    run_until(gateway, clock, at("2026-11-24 02:50:00"))
    [alarm] = [m for m in sent(gateway, clock) if m.type == "alarm"]
    assert alarm.body.kind == "night_bed_exit"
    assert alarm.body.priority == 2
    assert alarm.body.origin.device_kind == "home_monitor"


@pytest.fixture
def checkin_rig(tmp_path: Path) -> tuple[Gateway, StubLink, Clock]:
    gateway, link, clock = home_gateway(
        tmp_path, "2026-11-23 08:00:00", checkin=CheckinConfig(due=time(10, 0))
    )
    gateway.home.tick()  # the watch starts before the day's reminder
    return gateway, link, clock


def test_missed_checkin_is_reminded_then_alarmed(checkin_rig: Any) -> None:
    gateway, link, clock = checkin_rig
    run_until(gateway, clock, at("2026-11-23 09:31:00"))
    assert Indicate(Pattern.PROMPT, Pattern.PROMPT, 1800) in link.sent  # reminded at 09:30
    assert sent(gateway, clock) == []
    run_until(gateway, clock, at("2026-11-23 10:16:00"))
    assert [m.body.kind for m in sent(gateway, clock)] == ["missed_checkin"]


def test_a_late_checkin_after_the_alarm_tells_the_centre_she_is_all_right(
    checkin_rig: Any,
) -> None:
    gateway, _, clock = checkin_rig
    run_until(gateway, clock, at("2026-11-23 10:16:00"))
    gateway.handle(KeyPressed(BUTTON, Key.EMERGENCY, clock.now, clock.now, frame_seq=9))
    run_until(gateway, clock, at("2026-11-23 10:20:00"))
    kinds = [(m.type, m.body.kind) for m in sent(gateway, clock)]
    assert ("alarm", "missed_checkin") in kinds
    assert ("event", "checkin_late") in kinds  # through the outbox: answered by the centre


def test_press_after_the_reminder_is_the_checkin_not_an_emergency(checkin_rig: Any) -> None:
    gateway, link, clock = checkin_rig
    run_until(gateway, clock, at("2026-11-23 09:40:00"))
    gateway.handle(KeyPressed(BUTTON, Key.SERVICE, clock.now, clock.now, frame_seq=4))
    run_until(gateway, clock, at("2026-11-23 12:00:00"))
    assert [(m.type, m.body.kind) for m in sent(gateway, clock)] == [("event", "prompt_answered")]
    assert Indicate(Pattern.OFF, Pattern.OFF, 0) in link.sent


def test_emergency_key_during_a_prompt_is_an_emergency_and_a_checkin(checkin_rig: Any) -> None:
    gateway, _, clock = checkin_rig
    run_until(gateway, clock, at("2026-11-23 09:40:00"))
    gateway.handle(KeyPressed(BUTTON, Key.EMERGENCY, clock.now, clock.now, frame_seq=5))
    run_until(gateway, clock, at("2026-11-23 12:00:00"))
    # Help was called; and the resident is alive, so no missed check-in on top.
    assert [m.body.kind for m in sent(gateway, clock)] == ["emergency_call"]


def test_after_a_restart_a_silence_is_counted_from_the_start(rig: Any) -> None:
    gateway, _, clock = rig  # a gateway (re)started at noon; nothing moves afterwards
    run_until(gateway, clock, at("2026-11-24 01:00:00"))
    assert [m.body.kind for m in sent(gateway, clock) if m.type == "alarm"] == ["inactivity"]


def test_restart_between_reminder_and_deadline_still_raises_the_missed_checkin(
    tmp_path: Path,
) -> None:
    gateway, _, clock = home_gateway(
        tmp_path, "2026-11-23 09:45:00", checkin=CheckinConfig(due=time(10, 0))
    )
    run_until(gateway, clock, at("2026-11-23 10:16:00"))
    assert [m.body.kind for m in sent(gateway, clock)] == ["missed_checkin"]


def test_movement_during_the_prewarning_stops_the_buzzer(rig: Any) -> None:
    gateway, link, clock = rig
    gateway.handle(SensorChanged(HALL_PIR, clock.now, "motion", 1))
    gateway.handle(SensorChanged(HALL_PIR, clock.now + 60, "motion", 0))
    while Indicate(Pattern.PROMPT, Pattern.PROMPT, 600) not in link.sent:
        run_until(gateway, clock, clock.now + 60)
    gateway.handle(SensorChanged(HALL_PIR, clock.now + 30, "motion", 1))  # she got up
    run_until(gateway, clock, clock.now + 120)
    assert link.sent[-1] == Indicate(Pattern.OFF, Pattern.OFF, 0)
    assert [m for m in sent(gateway, clock) if m.type == "alarm"] == []


def test_sensor_changes_go_to_the_centre_as_activity_repeats_at_most_every_5_min(
    rig: Any,
) -> None:
    gateway, _, clock = rig
    uplink = StubUplink()
    gateway.uplink = uplink  # type: ignore[assignment]
    pir = DeviceRef("hall-pir", "motion_sensor", "zigbee2mqtt")
    for offset in (0, 60, 120, 400):  # a PIR re-reporting "occupancy: true"
        gateway.handle(SensorChanged(pir, clock.now + offset, "motion", 1))
    gateway.handle(SensorChanged(pir, clock.now + 450, "motion", 0))
    gateway.handle(SensorChanged(pir, clock.now + 460, "motion", 0))  # a repeat: nothing
    events = [
        decode_uplink("eldercare/v1/gw-1/up/event", p)
        for c, p in uplink.published
        if c is Channel.EVENT
    ]
    assert [(e.body.kind, e.body.detail["value"]) for e in events] == [  # type: ignore[union-attr]
        ("activity", 1),
        ("activity", 1),
        ("activity", 0),
    ]
    assert events[0].body.detail == {"sensor": "motion", "value": 1, "room": "hall"}  # type: ignore[union-attr]
    assert gateway.outbox.depth() == 0  # lossy like telemetry, never in the alarm outbox
