"""The gateway's event handling with its real outbox and stub transports: persist first,
answer the device at each stage, never raise one press twice, never swallow a new one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.events import AvailabilityChanged, BatteryReported, DeviceRef, Key, KeyPressed
from edge.serial.payloads import Ack, AckStage, Indicate, Pattern
from gateway import OutboxError
from gateway.outbox import Outbox
from gateway.service import BACKUP_CHANCE_S, Gateway
from gateway.uplink import CentreLinks
from protocol import (
    AlarmMessage,
    Channel,
    CommandBody,
    CommandKind,
    CommandMessage,
    ReceiptBody,
    ReceiptMessage,
    decode_uplink,
)
from tests.gateway.stubs import Clock, StubLink, StubUplink

BUTTON = DeviceRef("call-button-1", "call_button", "serial")
SOS = DeviceRef("sos-1", "sos_button", "zigbee2mqtt")
NOT_DELIVERED = Indicate(Pattern.NOT_DELIVERED, Pattern.NOT_DELIVERED, 0)  # until told OFF


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rig(tmp_path: Path, clock: Clock) -> tuple[Gateway, StubLink, StubUplink]:
    gateway = Gateway("gw-1", "home-1", Outbox(tmp_path / "outbox.sqlite3"), clock=clock)
    link, uplink = StubLink(), StubUplink()
    gateway.serial_links[BUTTON.device_id] = link  # type: ignore[assignment]
    gateway.uplink = uplink  # type: ignore[assignment]
    return gateway, link, uplink


def press(clock: Clock, seq: int, age_s: float = 0.0) -> KeyPressed:
    return KeyPressed(BUTTON, Key.EMERGENCY, clock.now, clock.now - age_s, frame_seq=seq)


def pending_alarms(gateway: Gateway, clock: Clock) -> list[AlarmMessage]:
    items = gateway.outbox.due(clock.now + 1e6)
    return [decode_uplink(f"eldercare/v1/gw-1/up/{i.channel}", i.payload) for i in items]  # type: ignore[misc]


def test_press_is_persisted_then_acknowledged_then_sent(rig: Any, clock: Clock) -> None:
    gateway, link, uplink = rig
    gateway.handle(press(clock, seq=7, age_s=0.25))
    [alarm] = pending_alarms(gateway, clock)
    assert alarm.body.kind == "emergency_call"
    assert alarm.body.priority == 0
    assert alarm.body.home_id == "home-1"
    assert alarm.device_id == "call-button-1"
    assert alarm.body.origin.frame_seq == 7
    assert alarm.device_time == datetime.fromtimestamp(clock.now - 0.25, UTC)
    assert alarm.gateway_time == datetime.fromtimestamp(clock.now, UTC)
    assert link.sent == [Ack(7, AckStage.RECEIVED)]
    assert uplink.wakes == 1


def test_retransmitted_press_is_answered_again_but_not_raised_again(rig: Any, clock: Clock) -> None:
    gateway, link, _ = rig
    gateway.handle(press(clock, seq=7))
    clock.now += 1.0
    gateway.handle(press(clock, seq=7, age_s=1.0))  # same press, the device missed our ack
    assert len(pending_alarms(gateway, clock)) == 1
    assert link.sent == [Ack(7, AckStage.RECEIVED), Ack(7, AckStage.RECEIVED)]


def test_press_repeated_unanswered_for_long_is_still_one_alarm(rig: Any, clock: Clock) -> None:
    gateway, link, _ = rig
    link.open = False  # our answers never reach the device, so it repeats for a long time
    first = clock.now
    gateway.handle(press(clock, seq=3))
    for _ in range(12):
        clock.now += 60.0
        gateway.handle(press(clock, seq=3, age_s=clock.now - first))
    assert len(pending_alarms(gateway, clock)) == 1


def test_restarted_device_reusing_a_sequence_number_still_raises(rig: Any, clock: Clock) -> None:
    gateway, _, _ = rig
    gateway.handle(press(clock, seq=4))
    clock.now += 40.0  # the device rebooted and counts from the start again
    gateway.handle(press(clock, seq=4))
    assert len(pending_alarms(gateway, clock)) == 2


def test_receipt_and_command_walk_the_device_through_every_stage(rig: Any, clock: Clock) -> None:
    gateway, link, _ = rig
    gateway.handle(press(clock, seq=9))
    [alarm] = pending_alarms(gateway, clock)
    now = datetime.fromtimestamp(clock.now, UTC)
    receipt = ReceiptMessage(gateway_id="gw-1", gateway_time=now, body=ReceiptBody(ref_id=alarm.id))
    gateway.handle(receipt)
    gateway.handle(receipt)  # a repeated receipt is not a new stage
    assert pending_alarms(gateway, clock) == []
    gateway.handle(
        CommandMessage(
            gateway_id="gw-1",
            gateway_time=now,
            body=CommandBody(kind=CommandKind.ALARM_HANDLED, alarm_id=alarm.id, operator="li"),
        )
    )
    assert link.sent == [
        Ack(9, AckStage.RECEIVED),
        Ack(9, AckStage.AT_CENTRE),
        Ack(9, AckStage.HELP_COMING),
    ]


def test_command_confirms_delivery_even_if_the_receipt_was_lost(rig: Any, clock: Clock) -> None:
    gateway, _, _ = rig
    gateway.handle(press(clock, seq=1))
    [alarm] = pending_alarms(gateway, clock)
    gateway.handle(
        CommandMessage(
            gateway_id="gw-1",
            gateway_time=datetime.fromtimestamp(clock.now, UTC),
            body=CommandBody(kind=CommandKind.ALARM_HANDLED, alarm_id=alarm.id),
        )
    )
    assert pending_alarms(gateway, clock) == []


def test_press_while_port_closed_is_still_raised(rig: Any, clock: Clock) -> None:
    gateway, link, _ = rig
    link.open = False
    gateway.handle(press(clock, seq=2))
    assert len(pending_alarms(gateway, clock)) == 1


def test_zigbee_press_has_no_frame_and_every_press_is_an_alarm(rig: Any, clock: Clock) -> None:
    gateway, link, _ = rig
    for _ in range(2):
        gateway.handle(KeyPressed(SOS, Key.EMERGENCY, clock.now, clock.now, battery_percent=80))
    alarms = pending_alarms(gateway, clock)
    assert len(alarms) == 2  # a new alarm per press, never merged into an open one
    assert all(a.body.origin.transport == "zigbee2mqtt" for a in alarms)
    assert all(a.body.battery_percent == 80 for a in alarms)
    assert link.sent == []


@pytest.mark.parametrize(
    ("key", "kind", "priority"),
    [(Key.SERVICE, "service_request", 6), (Key.FAMILY, "family_call", 4)],
)
def test_other_keys_raise_their_own_kind(
    rig: Any, clock: Clock, key: Key, kind: str, priority: int
) -> None:
    gateway, _, _ = rig
    gateway.handle(KeyPressed(BUTTON, key, clock.now, clock.now, frame_seq=3))
    [alarm] = pending_alarms(gateway, clock)
    assert (alarm.body.kind, alarm.body.priority) == (kind, priority)


def test_battery_and_port_state_go_out_without_the_outbox(rig: Any, clock: Clock) -> None:
    gateway, _, uplink = rig
    gateway.handle(BatteryReported(BUTTON, clock.now, 64))
    gateway.handle(AvailabilityChanged(BUTTON, clock.now, online=False))  # the port, not a word
    assert gateway.outbox.depth() == 0
    channels = [c for c, _ in uplink.published]
    assert channels == [Channel.TELEMETRY, Channel.EVENT]
    telemetry = decode_uplink("eldercare/v1/gw-1/up/telemetry", uplink.published[0][1])
    assert telemetry.body.fields == {"percent": 64, "low": False}  # type: ignore[union-attr]
    event = decode_uplink("eldercare/v1/gw-1/up/event", uplink.published[1][1])
    assert event.body.kind == "device_offline"  # type: ignore[union-attr]


def test_event_loop_survives_an_item_it_cannot_handle(rig: Any, clock: Clock) -> None:
    gateway, _, _ = rig
    bad = KeyPressed(
        DeviceRef("bad id with spaces", "call_button", "serial"),
        Key.EMERGENCY,
        clock.now,
        clock.now,
    )
    gateway.start()
    try:
        gateway.submit(bad)  # the wire contract refuses this device id
        gateway.submit(press(clock, seq=5))
    finally:
        gateway.stop()  # drains the queue in order before it returns
    [alarm] = pending_alarms(gateway, clock)
    assert alarm.body.origin.frame_seq == 5


def test_a_press_never_waits_behind_a_flood_of_routine_reports(rig: Any, clock: Clock) -> None:
    gateway, _, _ = rig
    handled: list[object] = []
    done = threading.Event()

    def record(item: object) -> None:
        handled.append(item)
        if len(handled) == 2001:
            done.set()

    gateway.handle = record  # type: ignore[method-assign]
    for _ in range(2000):  # a babbling sensor, queued before the worker gets to them
        gateway.submit(BatteryReported(SOS, clock.now, 50))
    gateway.submit(press(clock, seq=1))
    gateway.start()
    try:
        assert done.wait(10)
    finally:
        gateway.stop()
    assert isinstance(handled[0], KeyPressed)
    assert all(isinstance(h, BatteryReported) for h in handled[1:])


def test_an_alarm_the_centre_has_not_confirmed_for_3_minutes_shows_not_delivered(
    rig: Any, clock: Clock
) -> None:
    gateway, link, _ = rig
    gateway.handle(press(clock, seq=5))
    [alarm] = pending_alarms(gateway, clock)
    link.sent.clear()
    clock.now += 179.0
    gateway._check_delivery()
    assert link.sent == []  # keep trying at least 3 minutes first
    clock.now += 2.0
    gateway._check_delivery()
    assert link.sent == [NOT_DELIVERED]
    clock.now += 60.0
    gateway._check_delivery()
    assert len(link.sent) == 1  # shown once, not re-sent every second
    now = datetime.fromtimestamp(clock.now, UTC)
    gateway.handle(
        ReceiptMessage(gateway_id="gw-1", gateway_time=now, body=ReceiptBody(ref_id=alarm.id))
    )
    clock.now += 2.0
    gateway._check_delivery()
    assert link.sent[-1] == Indicate(Pattern.OFF, Pattern.OFF, 0)
    assert gateway.not_delivered_since is None


def test_an_outbox_that_cannot_store_is_a_technical_alarm_and_not_delivered_at_home(
    rig: Any, clock: Clock
) -> None:
    gateway, link, uplink = rig
    failures = 0
    third_failure = threading.Event()

    def disk_full(*_args: object, **_kwargs: object) -> None:
        nonlocal failures
        failures += 1
        if failures == 3:
            third_failure.set()
        raise OutboxError("outbox write failed: database or disk is full")

    gateway.outbox.add = disk_full  # type: ignore[method-assign]
    gateway.start()
    try:
        for seq in (1, 1, 2):  # the device repeats the press it got no answer for
            gateway.submit(press(clock, seq=seq))
        assert third_failure.wait(5)
    finally:
        gateway.stop()
    faults = [
        decode_uplink("eldercare/v1/gw-1/up/alarm", p)
        for c, p in uplink.published
        if c is Channel.ALARM
    ]
    assert len(faults) == 1  # once a minute while the fault lasts, not per failure
    assert faults[0].body.kind.value == "gateway_fault"  # type: ignore[union-attr]
    assert faults[0].body.detail["reason"] == "outbox_write_failed"  # type: ignore[union-attr]
    assert NOT_DELIVERED in link.sent
    assert not any(isinstance(s, Ack) for s in link.sent)  # nothing stored, nothing confirmed


def test_a_refusing_broker_shows_not_delivered_at_once_until_it_accepts_again(
    rig: Any, clock: Clock
) -> None:
    gateway, link, uplink = rig
    uplink.centre_links = CentreLinks(refusal="Not authorized")
    gateway._check_delivery()
    assert link.sent == [NOT_DELIVERED]  # no alarm yet
    clock.now += 60.0
    gateway._check_delivery()
    assert len(link.sent) == 1
    uplink.centre_links = CentreLinks(connected=True)
    clock.now += 1.0
    gateway._check_delivery()
    assert link.sent[-1] == Indicate(Pattern.OFF, Pattern.OFF, 0)


def test_a_refusal_with_the_backup_centre_reachable_is_no_reason_to_alarm_the_home(
    rig: Any,
) -> None:
    gateway, link, uplink = rig
    uplink.centre_links = CentreLinks(
        refusal="Not authorized", backup_configured=True, backup_in_use=True, backup_connected=True
    )
    gateway._check_delivery()
    assert link.sent == []


def test_a_refusal_gives_a_configured_backup_its_chance_to_connect_before_the_home_is_told(
    rig: Any, clock: Clock
) -> None:
    """The uplink opens the backup link the moment the centre's broker refuses the gateway,
    and it connects a moment later: the home used to be told NOT_DELIVERED in between (a
    second of "alarm not delivered" on every device, then OFF). Only a backup that has not
    connected within BACKUP_CHANCE_S leaves the home to act."""
    gateway, link, uplink = rig
    uplink.centre_links = CentreLinks(
        refusal="Not authorized", backup_configured=True, backup_in_use=True
    )
    gateway._check_delivery()
    assert link.sent == []  # the backup is connecting
    uplink.centre_links = CentreLinks(
        refusal="Not authorized", backup_configured=True, backup_in_use=True, backup_connected=True
    )
    clock.now += 1.0
    gateway._check_delivery()
    assert link.sent == []

    uplink.centre_links = CentreLinks(
        refusal="Not authorized", backup_configured=True, backup_in_use=True
    )  # the backup's broker is gone too, and stays gone past the backup's chance
    clock.now += BACKUP_CHANCE_S
    gateway._check_delivery()
    assert link.sent == [NOT_DELIVERED]


def test_a_backup_that_never_connects_leaves_the_home_told_after_its_chance(
    rig: Any, clock: Clock
) -> None:
    gateway, link, uplink = rig
    uplink.centre_links = CentreLinks(
        refusal="Not authorized", backup_configured=True, backup_in_use=True
    )
    gateway._check_delivery()
    clock.now += BACKUP_CHANCE_S - 1.0
    gateway._check_delivery()
    assert link.sent == []
    clock.now += 2.0
    gateway._check_delivery()
    assert link.sent == [NOT_DELIVERED]


def test_with_a_backup_centre_the_home_is_told_only_after_the_backup_had_its_chance(
    rig: Any, clock: Clock
) -> None:
    gateway, link, uplink = rig
    uplink.centre_links = CentreLinks(backup_configured=True, backup_in_use=True)
    gateway.handle(press(clock, seq=5))
    link.sent.clear()
    clock.now += gateway.undelivered_after_s + BACKUP_CHANCE_S - 1.0
    gateway._check_delivery()
    assert link.sent == []  # the backup centre is being tried
    clock.now += 2.0
    gateway._check_delivery()
    assert link.sent == [NOT_DELIVERED]


def test_a_device_whose_port_was_closed_is_told_not_delivered_once_it_is_open(
    rig: Any, clock: Clock
) -> None:
    gateway, link, uplink = rig
    link.open = False  # the cable pulled as the outage began
    uplink.centre_links = CentreLinks(refusal="Not authorized")
    gateway._check_delivery()
    assert gateway.not_delivered_since is not None
    assert link.sent == []
    link.open = True
    clock.now += 1.0
    gateway._check_delivery()
    clock.now += 1.0
    gateway._check_delivery()
    assert link.sent == [NOT_DELIVERED]  # once


def test_a_prompt_during_an_outage_neither_is_cut_short_nor_wipes_not_delivered(
    rig: Any, clock: Clock
) -> None:
    """A possible fall while no centre can be reached: the prompt is shown whole, and when it
    ends (cancelled, or run out on the device) the device shows NOT_DELIVERED again, not OFF."""
    gateway, link, uplink = rig
    uplink.centre_links = CentreLinks(refusal="Not authorized")
    gateway._check_delivery()
    assert link.sent == [NOT_DELIVERED]

    gateway._prompt(None, True, 30)
    for _ in range(5):
        clock.now += 2.0
        gateway._check_delivery()
    assert link.sent[1:] == [Indicate(Pattern.PROMPT, Pattern.PROMPT, 30)]  # not cut short
    gateway._prompt(None, False)  # the resident pressed: cancelled
    assert link.sent[-1] == NOT_DELIVERED

    link.sent.clear()
    gateway._prompt(None, True, 30)
    clock.now += 29.0
    gateway._check_delivery()
    assert link.sent == [Indicate(Pattern.PROMPT, Pattern.PROMPT, 30)]
    clock.now += 2.0  # the prompt ran out on the device, which went OFF by itself
    gateway._check_delivery()
    assert link.sent[-1] == NOT_DELIVERED


def test_a_prompt_ending_with_every_alarm_delivered_turns_the_device_off(
    rig: Any, clock: Clock
) -> None:
    gateway, link, _ = rig
    gateway._prompt(None, True, 30)
    gateway._prompt(None, False)
    clock.now += 40.0
    gateway._check_delivery()
    assert link.sent == [
        Indicate(Pattern.PROMPT, Pattern.PROMPT, 30),
        Indicate(Pattern.OFF, Pattern.OFF, 0),
    ]


def test_a_device_whose_port_opens_again_is_told_not_delivered_again(
    rig: Any, clock: Clock
) -> None:
    """The cable pulled and put back, or the device restarted: it shows nothing any more."""
    gateway, link, uplink = rig
    uplink.centre_links = CentreLinks(refusal="Not authorized")
    gateway._check_delivery()
    assert link.sent == [NOT_DELIVERED]
    gateway.handle(AvailabilityChanged(BUTTON, clock.now, online=False))
    gateway.handle(AvailabilityChanged(BUTTON, clock.now, online=True))
    clock.now += 2.0
    gateway._check_delivery()
    clock.now += 2.0
    gateway._check_delivery()
    assert link.sent == [NOT_DELIVERED, NOT_DELIVERED]  # told again, once
