"""The fall flow through the gateway: a real SisFall fall, fed as a wearable's sample batches,
becomes a fall alarm held for the cancel window; a press cancels it; a radar feeds the same
flow. Real outbox, stub device links, injected clock."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.events import (
    AvailabilityChanged,
    DeviceRef,
    FallReported,
    Key,
    KeyPressed,
    SamplesReceived,
)
from edge.serial.payloads import Ack, AckStage, Indicate, Pattern
from gateway.detect.resample import STREAM_END_S
from gateway.outbox import Outbox
from gateway.service import ALARM_SENT_SHOWN_S, HELP_COMING_SHOWN_S, Gateway
from protocol import (
    AlarmMessage,
    CommandBody,
    CommandKind,
    CommandMessage,
    EventMessage,
    ReceiptBody,
    ReceiptMessage,
    decode_uplink,
)
from tests.gateway.stubs import Clock, StubLink

SISFALL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sisfall"
WEARABLE = DeviceRef("wearable-1", "wearable", "serial")
BUTTON = DeviceRef("call-button-1", "call_button", "serial")
RADAR = DeviceRef("radar-1", "fall_radar", "zigbee2mqtt")
WINDOW = 30.0


def trial(trial_id: str) -> np.ndarray:
    with (SISFALL / "trials.csv").open() as handle:
        index = next(
            i for i, row in enumerate(csv.DictReader(handle)) if row["trial_id"] == trial_id
        )
    data = np.load(SISFALL / "sisfall_adxl345_200hz.npz")
    offsets = data["offsets"]
    return data["samples"][offsets[index] : offsets[index + 1]].astype(np.float64) * 32 / 8192


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rig(tmp_path: Path, clock: Clock) -> tuple[Gateway, dict[str, StubLink]]:
    gateway = Gateway(
        "gw-1",
        "home-1",
        Outbox(tmp_path / "outbox.sqlite3"),
        clock=clock,
        fall_cancel_window_s=WINDOW,
    )
    links = {WEARABLE.device_id: StubLink(), BUTTON.device_id: StubLink()}
    gateway.serial_links.update(links)  # type: ignore[arg-type]
    return gateway, links


def wear(gateway: Gateway, clock: Clock, acc: np.ndarray, rate_hz: float = 200.0) -> None:
    """Feed a recording as the wearable would: 0.25 s batches, the clock following along."""
    per_batch = int(rate_hz / 4)
    t = np.arange(len(acc)) / rate_hz + 1000.0  # device uptime
    for i in range(0, len(acc), per_batch):
        clock.now += per_batch / rate_hz
        rows = acc[i : i + per_batch]
        gateway.handle(
            SamplesReceived(
                WEARABLE,
                clock.now,
                tuple(t[i : i + per_batch].tolist()),
                tuple(tuple(r) for r in rows.tolist()),
            )
        )


def alarms(gateway: Gateway, at: float) -> list[Any]:
    items = gateway.outbox.due(at)
    return [decode_uplink(f"eldercare/v1/gw-1/up/{i.channel}", i.payload) for i in items]


def test_fall_is_held_for_the_window_then_sent_with_its_trace(rig: Any, clock: Clock) -> None:
    gateway, links = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    held = gateway.outbox.depth()
    assert held == 1  # stored at once ...
    assert alarms(gateway, clock.now) == []  # ... but not sent while the resident may cancel
    assert Indicate(Pattern.PROMPT, Pattern.PROMPT, int(WINDOW)) in links[WEARABLE.device_id].sent
    [alarm] = alarms(gateway, clock.now + WINDOW + 1)
    assert isinstance(alarm, AlarmMessage)
    assert alarm.body.kind == "fall"
    assert alarm.body.priority == 0
    assert alarm.device_id == WEARABLE.device_id
    trace = alarm.body.trace
    assert trace is not None
    assert min(trace.t_s) <= -1.9  # two seconds before the impact ...
    assert max(trace.t_s) >= 2.0  # ... to the decision
    assert max(float(np.linalg.norm(g)) for g in trace.g) > 3.0  # the impact is in it


def restarted(tmp_path: Path, before: Gateway, clock: Clock) -> Gateway:
    """The gateway process restarted on the same data directory, its devices linked again."""
    before.outbox.close()
    after = Gateway(
        "gw-1",
        "home-1",
        Outbox(tmp_path / "outbox.sqlite3"),
        clock=clock,
        fall_cancel_window_s=WINDOW,
    )
    after.serial_links.update({WEARABLE.device_id: StubLink()})  # type: ignore[dict-item]
    return after


def test_held_fall_survives_a_gateway_restart(tmp_path: Path, rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    [held] = gateway.falls.held.values()
    clock.now += 5  # the gateway restarts inside the window
    after = restarted(tmp_path, gateway, clock)
    assert after.falls.held == {WEARABLE.device_id: held}  # still the resident's to cancel
    after.outbox.retry_all_now(clock.now)  # what a reconnect does: the hold must survive it
    assert alarms(after, held.until - 0.1) == []  # the window is not cut short ...
    [fall] = after.outbox.due(held.until)  # ... nor made longer: it goes at its end
    after.outbox.attempted(fall.id, held.until + 60)
    after.outbox.confirm(fall.id, held.until + 1)
    assert after.outbox.due(held.until + 3600) == []  # once, never twice
    assert after.outbox.depth() == 0


def test_press_after_a_restart_still_cancels_the_held_fall(
    tmp_path: Path, rig: Any, clock: Clock
) -> None:
    gateway, _ = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    clock.now += 5
    after = restarted(tmp_path, gateway, clock)
    clock.now += 5
    after.handle(KeyPressed(WEARABLE, Key.SERVICE, clock.now, clock.now, frame_seq=9))
    later = alarms(after, clock.now + 3600)
    assert [(m.type, m.body.kind) for m in later] == [("event", "fall_cancelled")]
    assert Indicate(Pattern.OFF, Pattern.OFF, 0) in after.serial_links[WEARABLE.device_id].sent  # type: ignore[attr-defined]


def test_a_restarted_gateway_prompts_the_wearer_again_for_what_is_left_of_the_window(
    tmp_path: Path, rig: Any, clock: Clock
) -> None:
    """The hold is read back after a restart; the buzzing must come back too, or the resident
    cannot know a press would still cancel the alarm."""
    gateway, _ = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    [held] = gateway.falls.held.values()
    clock.now = held.until - 20.4  # restarted with 20 s of the window left
    after = restarted(tmp_path, gateway, clock)
    link = after.serial_links[WEARABLE.device_id]
    after._check_delivery()
    after._check_delivery()  # once, not on every check
    assert link.sent == [Indicate(Pattern.PROMPT, Pattern.PROMPT, 20)]  # type: ignore[attr-defined]


def test_a_wearable_whose_port_was_closed_when_prompted_is_prompted_once_it_opens(
    rig: Any, clock: Clock
) -> None:
    gateway, links = rig
    links[WEARABLE.device_id].open = False  # the cable out as the fall is detected
    wear(gateway, clock, trial("F01_SA01_R01"))
    [held] = gateway.falls.held.values()
    gateway._check_delivery()
    assert links[WEARABLE.device_id].sent == []
    clock.now = held.until - 12.2
    links[WEARABLE.device_id].open = True
    gateway._check_delivery()
    assert links[WEARABLE.device_id].sent == [Indicate(Pattern.PROMPT, Pattern.PROMPT, 12)]
    clock.now = held.until + 1  # the window over: nothing more to ask
    gateway.handle(AvailabilityChanged(WEARABLE, clock.now, online=False))
    gateway.handle(AvailabilityChanged(WEARABLE, clock.now, online=True))
    gateway._check_delivery()
    assert links[WEARABLE.device_id].sent[-1] == Indicate(Pattern.PROMPT, Pattern.PROMPT, 12)


def test_a_wearable_that_restarts_during_its_prompt_is_prompted_again(
    rig: Any, clock: Clock
) -> None:
    gateway, links = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    [held] = gateway.falls.held.values()
    assert links[WEARABLE.device_id].sent == [Indicate(Pattern.PROMPT, Pattern.PROMPT, 30)]
    clock.now = held.until - 10.0
    gateway.handle(AvailabilityChanged(WEARABLE, clock.now, online=False))
    gateway.handle(AvailabilityChanged(WEARABLE, clock.now, online=True))
    gateway._check_delivery()
    assert links[WEARABLE.device_id].sent[-1] == Indicate(Pattern.PROMPT, Pattern.PROMPT, 10)


def centre_answers(gateway: Gateway, clock: Clock, alarm_id: str, *, handled: bool) -> None:
    now = datetime.fromtimestamp(clock.now, UTC)
    gateway.handle(
        ReceiptMessage(gateway_id="gw-1", gateway_time=now, body=ReceiptBody(ref_id=alarm_id))
    )
    if handled:
        body = CommandBody(kind=CommandKind.ALARM_HANDLED, alarm_id=alarm_id, operator="li")
        gateway.handle(CommandMessage(gateway_id="gw-1", gateway_time=now, body=body))


def test_the_wearer_is_shown_that_the_fall_alarm_got_through_and_help_is_coming(
    rig: Any, clock: Clock
) -> None:
    """A fall alarm answers no key press (no ACK), so its stages come as INDICATE."""
    gateway, links = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    [held] = gateway.falls.held.values()
    clock.now = held.until + 1
    centre_answers(gateway, clock, held.alarm_id, handled=True)
    assert links[WEARABLE.device_id].sent == [
        Indicate(Pattern.PROMPT, Pattern.PROMPT, 30),
        Indicate(Pattern.ALARM_SENT, Pattern.ALARM_SENT, ALARM_SENT_SHOWN_S),
        Indicate(Pattern.HELP_COMING, Pattern.HELP_COMING, HELP_COMING_SHOWN_S),
    ]
    for _ in range(3):  # the gateway's delivery checks leave it showing until it runs out
        clock.now += 1.0
        gateway._check_delivery()
    assert links[WEARABLE.device_id].sent[-1].led == Pattern.HELP_COMING  # type: ignore[union-attr]
    assert links[BUTTON.device_id].sent == []  # a button that raised nothing is told nothing


def test_soft_fall_confirmed_later_carries_its_trace_to_the_confirmation(
    rig: Any, clock: Clock
) -> None:
    # Fainting forward from a chair (F13): a 2 g impact, decided only once the wearer has
    # stayed down for confirm_s (6 s); the trace runs to that decision, within KEEP_RAW_S.
    gateway, _ = rig
    wear(gateway, clock, trial("F13_SA05_R01"))
    [alarm] = alarms(gateway, clock.now + WINDOW + 1)
    assert isinstance(alarm, AlarmMessage)
    trace = alarm.body.trace
    assert trace is not None
    assert min(trace.t_s) <= -1.9
    assert 5.9 <= max(trace.t_s) <= 6.1


def test_a_wearable_silent_after_a_soft_fall_still_raises_it(rig: Any, clock: Clock) -> None:
    # The faint of F13_SA05_R01 (impact 5.04 s, confirmed at 11.04 s), but the wearable stops
    # sending at 10 s (broken, out of range): once it has been silent for STREAM_END_S the
    # stream ends and the fall is decided on its last sample.
    gateway, _ = rig
    wear(gateway, clock, trial("F13_SA05_R01")[:2000])
    assert gateway.falls.held == {}
    clock.now += STREAM_END_S - 0.5
    assert gateway.falls.end_silent_streams() == []
    clock.now += 0.5
    [alarm_id] = gateway.falls.end_silent_streams()
    assert [h.alarm_id for h in gateway.falls.held.values()] == [alarm_id]
    assert gateway.falls.end_silent_streams() == []  # ended once
    [alarm] = alarms(gateway, clock.now + WINDOW + 1)
    assert isinstance(alarm, AlarmMessage)
    assert alarm.id == alarm_id
    trace = alarm.body.trace
    assert trace is not None
    assert 4.9 <= max(trace.t_s) <= 5.0  # to the last sample sent


def test_a_stage_is_not_shown_over_not_delivered(rig: Any, clock: Clock) -> None:
    """Another alarm is stuck: the home must phone for help, which matters more."""
    gateway, links = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    [held] = gateway.falls.held.values()
    clock.now = held.until + 1
    gateway.not_delivered_since = clock.now - 200
    centre_answers(gateway, clock, held.alarm_id, handled=False)
    assert links[WEARABLE.device_id].sent == [Indicate(Pattern.PROMPT, Pattern.PROMPT, 30)]


def test_held_fall_whose_window_ended_during_a_restart_goes_at_once(
    tmp_path: Path, rig: Any, clock: Clock
) -> None:
    gateway, _ = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    clock.now += WINDOW + 60  # down for longer than the window
    after = restarted(tmp_path, gateway, clock)
    assert after.falls.held == {}
    [fall] = alarms(after, clock.now)
    assert isinstance(fall, AlarmMessage)
    assert fall.body.kind == "fall"
    # Too late to cancel: a press now is a call of its own, the fall still goes.
    after.handle(KeyPressed(WEARABLE, Key.EMERGENCY, clock.now, clock.now, frame_seq=3))
    kinds = sorted(m.body.kind for m in alarms(after, clock.now))
    assert kinds == ["emergency_call", "fall"]


def test_press_during_the_window_cancels_and_is_not_an_emergency(rig: Any, clock: Clock) -> None:
    gateway, links = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    clock.now += 5
    press = KeyPressed(WEARABLE, Key.SERVICE, clock.now, clock.now, frame_seq=42)
    gateway.handle(press)
    clock.now += 1
    gateway.handle(KeyPressed(WEARABLE, Key.SERVICE, clock.now, clock.now - 1, frame_seq=42))
    later = alarms(gateway, clock.now + 3600)
    assert [m.type for m in later] == ["event"]  # no fall alarm, no emergency call
    [event] = later
    assert isinstance(event, EventMessage)
    assert event.body.kind == "fall_cancelled"
    sent = links[WEARABLE.device_id].sent
    assert Indicate(Pattern.OFF, Pattern.OFF, 0) in sent
    assert sent.count(Ack(42, AckStage.RECEIVED)) == 2  # the repeat was answered, not raised


def test_press_after_the_window_is_an_emergency_call(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    clock.now += WINDOW + 1
    gateway.handle(KeyPressed(WEARABLE, Key.EMERGENCY, clock.now, clock.now, frame_seq=7))
    kinds = sorted(m.body.kind for m in alarms(gateway, clock.now + 1))
    assert kinds == ["emergency_call", "fall"]


@pytest.mark.parametrize("trial_id", ["D04_SA01_R01", "D13_SA01_R01", "D07_SE01_R01"])
def test_daily_activities_raise_nothing(rig: Any, clock: Clock, trial_id: str) -> None:
    gateway, links = rig
    wear(gateway, clock, trial(trial_id))
    assert gateway.outbox.depth() == 0
    assert links[WEARABLE.device_id].sent == []


def test_radar_maybe_is_held_and_certain_goes_at_once(rig: Any, clock: Clock) -> None:
    gateway, links = rig
    gateway.handle(FallReported(RADAR, clock.now, certain=False))
    assert alarms(gateway, clock.now) == []
    # The radar has no key: every call button of the home prompts.
    assert Indicate(Pattern.PROMPT, Pattern.PROMPT, int(WINDOW)) in links[BUTTON.device_id].sent
    clock.now += 3
    gateway.handle(FallReported(RADAR, clock.now, certain=True))
    [alarm] = alarms(gateway, clock.now)
    assert alarm.body.kind == "fall"
    assert alarm.body.origin.device_kind == "fall_radar"


def test_radar_maybe_is_cancelled_by_any_call_button(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    gateway.handle(FallReported(RADAR, clock.now, certain=False))
    clock.now += 10
    gateway.handle(KeyPressed(BUTTON, Key.SERVICE, clock.now, clock.now, frame_seq=3))
    assert [m.type for m in alarms(gateway, clock.now + 3600)] == ["event"]


def test_wearable_that_restarts_its_clock_is_still_watched(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    wear(gateway, clock, trial("D01_SA01_R01")[:2000])  # device uptime from 1000 s
    wear(gateway, clock, trial("F01_SA01_R01"))  # rebooted: uptime starts at 1000 s again
    assert len(alarms(gateway, clock.now + WINDOW + 1)) == 1


def test_radar_repeating_fall_is_one_alarm(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    for _ in range(3):  # Zigbee2MQTT republishes the state with every message
        gateway.handle(FallReported(RADAR, clock.now, certain=True))
        clock.now += 20
    assert len(alarms(gateway, clock.now)) == 1


def test_trace_of_a_fast_sensor_is_thinned_to_fit_the_alarm(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    fall = trial("F01_SA01_R01")
    fast = np.repeat(fall, 4, axis=0)  # the same fall as an 800 Hz sensor would see it
    wear(gateway, clock, fast, rate_hz=800.0)
    [alarm] = alarms(gateway, clock.now + WINDOW + 1)
    assert alarm.body.trace is not None
    assert 1000 < len(alarm.body.trace.t_s) <= 2000


def test_emergency_key_during_the_window_sends_the_fall_at_once(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    wear(gateway, clock, trial("F01_SA01_R01"))
    clock.now += 5
    gateway.handle(KeyPressed(WEARABLE, Key.EMERGENCY, clock.now, clock.now, frame_seq=43))
    # Help was asked for: the fall goes now (not at the window's end) and so does the call.
    kinds = sorted(m.body.kind for m in alarms(gateway, clock.now))
    assert kinds == ["emergency_call", "fall"]


def test_zigbee_sos_press_never_cancels_a_radar_fall(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    sos = DeviceRef("sos-1", "sos_button", "zigbee2mqtt")
    gateway.handle(FallReported(RADAR, clock.now, certain=False))
    clock.now += 5
    gateway.handle(KeyPressed(sos, Key.EMERGENCY, clock.now, clock.now))
    kinds = sorted(m.body.kind for m in alarms(gateway, clock.now))
    assert kinds == ["emergency_call", "fall"]


def test_radar_repeating_maybe_is_one_held_alarm(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    for _ in range(6):  # Zigbee2MQTT republishes "maybe_fall" with every message
        gateway.handle(FallReported(RADAR, clock.now, certain=False))
        clock.now += 5 * 60
    assert gateway.outbox.depth() == 1


def test_certain_radar_fall_after_a_cancelled_maybe_still_goes(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    gateway.handle(FallReported(RADAR, clock.now, certain=False))
    clock.now += 5
    gateway.handle(KeyPressed(BUTTON, Key.SERVICE, clock.now, clock.now, frame_seq=8))
    clock.now += 60
    gateway.handle(FallReported(RADAR, clock.now, certain=True))
    assert [m.body.kind for m in alarms(gateway, clock.now) if m.type == "alarm"] == ["fall"]


def test_radar_clear_makes_the_next_fall_news(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    gateway.handle(FallReported(RADAR, clock.now, certain=True))
    clock.now += 3600
    gateway.handle(FallReported(RADAR, clock.now, certain=False, cleared=True))
    clock.now += 3600
    gateway.handle(FallReported(RADAR, clock.now, certain=True))
    assert len([m for m in alarms(gateway, clock.now) if m.type == "alarm"]) == 2


def test_fall_completed_after_a_radio_gap_is_still_raised(rig: Any, clock: Clock) -> None:
    gateway, _ = rig
    fall = trial("F01_SA01_R01")
    impact = int(np.argmax(np.linalg.norm(fall, axis=1)))
    t = np.arange(len(fall)) / 200.0 + 1000.0
    cut = impact + 100  # the batch that completes the decision comes after a 20 s gap
    for lo, hi in ((0, cut), (cut, len(fall))):
        clock.now += 20 if lo else 0
        gateway.handle(
            SamplesReceived(
                WEARABLE,
                clock.now,
                tuple(t[lo:hi].tolist()),
                tuple(tuple(r) for r in fall[lo:hi].tolist()),
            )
        )
    assert len(alarms(gateway, clock.now + WINDOW + 1)) == 1


def test_a_held_row_that_does_not_read_as_an_alarm_does_not_stop_the_gateway_starting(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """A held row written by an older release, or damaged on disk, used to raise in the
    constructor: the gateway could not start, and no alarm of the home went anywhere. It is
    only not cancellable now; the outbox still sends it when its window ends."""
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    payload = b'{"v": 0, "type": "alarm"}'
    outbox.add(
        "f" * 32, "alarm", payload, clock.now, device_id="wearable-1", hold_until=clock.now + WINDOW
    )
    gateway = Gateway("gw-1", "home-1", outbox, clock=clock, fall_cancel_window_s=WINDOW)
    assert gateway.falls.held == {}
    assert "f" * 32 in caplog.text
    assert [item.payload for item in outbox.due(clock.now + WINDOW)] == [payload]
