"""A cloud wearable's held fall is in SQL from the moment of detection: a restarted server
(or the process that takes over detection) sends it when the window ends, at once if it has
ended, and never twice; the wearable is prompted (again by a process that takes over); a
step-down forgets, a take-over resumes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from protocol import AlarmMessage, CommandBody, CommandKind, CommandMessage, encode
from server.centre import Centre
from server.db.fall_hold_models import CloudFallHold
from server.ingest.cloud_falls import CloudFalls
from server.ingest.held_falls import HeldFalls
from tests.gateway.stubs import Clock
from tests.server.test_ingest_cloud_falls import (
    WINDOW,
    Delivered,
    batches,
    build,
    stored_alarms,
    wear,
)


def restarted(centre: Centre, clock: Clock, delivered: Delivered) -> CloudFalls:
    """A new server process on the same store, which has just become the leader."""
    falls = build(centre, clock, delivered)
    assert falls.take_over()
    return falls


def held_rows(centre: Centre) -> int:
    with centre.sessions() as session:
        return session.scalar(select(func.count()).select_from(CloudFallHold)) or 0


@pytest.mark.parametrize("restart_after_s", [WINDOW / 2, WINDOW * 3])
def test_a_held_fall_survives_a_restart_and_is_stored_once(
    store_centre: Centre, restart_after_s: float
) -> None:
    clock, delivered = Clock(), Delivered()
    first = restarted(store_centre, clock, delivered)
    wear(first, clock, batches("wear-r", "F01_SA01_R01"))
    [hold] = first.held.by_wearer.values()
    assert held_rows(store_centre) == 1  # in the store before the window ends
    assert stored_alarms(store_centre) == []
    # The first process dies here; another starts after ``restart_after_s``.
    clock.now += restart_after_s
    second = restarted(store_centre, clock, delivered)
    assert second.held.get("wear-r/wear-r") == hold
    second.tick()
    if clock.now < hold.until:
        assert stored_alarms(store_centre) == []
        clock.now = hold.until
        second.tick()
    [alarm] = stored_alarms(store_centre)
    assert alarm.id == hold.alarm.id
    assert alarm.message["body"]["trace"]["t_s"]  # the trace came through the store
    assert held_rows(store_centre) == 0
    # The dead process, had it lived on to its window's end, changes nothing: same id.
    first.tick()
    assert [a.id for a in stored_alarms(store_centre)] == [hold.alarm.id]
    assert held_rows(store_centre) == 0


def test_the_wearable_is_prompted_for_the_window(centre: Centre) -> None:
    clock, delivered = Clock(), Delivered()
    falls = restarted(centre, clock, delivered)
    wear(falls, clock, batches("wear-p", "F01_SA01_R01"))
    [hold] = falls.held.by_wearer.values()
    [prompt] = delivered.prompts
    assert (prompt.gateway_id, prompt.device_id) == ("wear-p", "wear-p")
    assert prompt.body.kind is CommandKind.FALL_PROMPT
    assert prompt.body.alarm_id == hold.alarm.id
    assert prompt.body.duration_s == WINDOW


def test_the_process_that_takes_over_prompts_the_wearable_again(centre: Centre) -> None:
    """The leader may have died before its prompt went out: the wearable is asked again, for
    what is left of the window; a hold whose window has passed is only stored."""
    clock, delivered = Clock(), Delivered()
    first = restarted(centre, clock, delivered)
    wear(first, clock, batches("wear-a", "F01_SA01_R01"))
    [hold] = first.held.by_wearer.values()
    clock.now = hold.until - 12.3
    restarted(centre, clock, delivered)
    [_, again] = delivered.prompts
    assert (again.device_id, again.body.alarm_id) == ("wear-a", hold.alarm.id)
    assert again.body.duration_s == 12
    clock.now = hold.until + 5
    restarted(centre, clock, delivered)
    assert len(delivered.prompts) == 2


def test_a_press_after_a_restart_still_cancels(centre: Centre) -> None:
    clock, delivered = Clock(), Delivered()
    first = restarted(centre, clock, delivered)
    wear(first, clock, batches("wear-c", "F01_SA01_R01"))
    [hold] = first.held.by_wearer.values()
    second = restarted(centre, clock, delivered)
    # The wearable's next batch, on its own clock, carries the press.
    pressed = hold.t_detect + 1.0
    later = batches("wear-c", "D01_SA01_R01", presses={0: pressed}, start_s=pressed + 0.5)
    wear(second, clock, later)
    clock.now += WINDOW + 1
    second.tick()
    assert stored_alarms(centre) == []
    assert held_rows(centre) == 0


def test_stepping_down_forgets_and_taking_over_resumes(centre: Centre) -> None:
    clock, delivered = Clock(), Delivered()
    falls = restarted(centre, clock, delivered)
    wear(falls, clock, batches("wear-s", "F01_SA01_R01"))
    falls.step_down()
    assert (falls.bank.wearers, falls.held.by_wearer) == (0, {})
    clock.now += WINDOW + 1
    falls.tick()
    assert stored_alarms(centre) == []  # another process sends it now, not this one
    assert held_rows(centre) == 1
    assert falls.take_over()
    falls.tick()
    assert [a.kind for a in stored_alarms(centre)] == ["fall"]


def test_a_handled_command_keeps_its_wire_shape() -> None:
    """Gateways refuse unknown fields: the prompt's duration never rides on other commands."""
    handled = CommandMessage(
        gateway_id="gw-1",
        gateway_time=datetime(2026, 11, 22, tzinfo=UTC),
        body=CommandBody(kind=CommandKind.ALARM_HANDLED, alarm_id="a" * 32),
    )
    assert b"duration_s" not in encode(handled)


def test_an_alarm_the_store_refuses_stays_held_and_is_tried_again(centre: Centre) -> None:
    clock, delivered = Clock(), Delivered()
    falls = restarted(centre, clock, delivered)
    wear(falls, clock, batches("wear-f", "F01_SA01_R01"))
    [hold] = falls.held.by_wearer.values()
    answers = iter([False, True])  # refused once, then stored
    tried: list[str] = []

    def store(alarm: AlarmMessage) -> bool:
        tried.append(alarm.id)
        return next(answers)

    held = HeldFalls(centre.sessions, store, None)
    assert held.resume(clock.now) == 1
    held.release_due(hold.until)
    assert (held.get(hold.wearer), held_rows(centre)) == (hold, 1)
    held.release_due(hold.until + 0.2)
    assert (held.get(hold.wearer), held_rows(centre)) == (None, 0)
    assert tried == [hold.alarm.id, hold.alarm.id]
