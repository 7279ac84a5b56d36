"""Daily check-in: reminder, missed check-in alarm, late press, which days, advance-invariance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.detect.checkin import (
    CheckinConfig,
    CheckinConfigError,
    CheckinPressed,
    DailyCheckin,
)
from gateway.detect.home_events import HomeAlarm, HomeDetector, SensorEvent, SensorKind
from gateway.detect.home_events import format_local as _local
from gateway.detect.home_events import parse_local as at
from tests.gateway.detect.replaying import run_with_advances

MIN = 60.0
DAY = 86400.0
# 2024-03-01 is a Friday.
MIDNIGHT = "2024-03-01 00:00:00"


def press(when: str, device: str = "button") -> CheckinPressed:
    return CheckinPressed(at(when), device)


def run(
    events: Sequence[SensorEvent | CheckinPressed],
    until: str,
    config: CheckinConfig | None = None,
    start: str = MIDNIGHT,
) -> list[tuple[str, str]]:
    """(type, local time) of the alarms; the watch begins with ``advance(start)``."""
    detector = DailyCheckin(config or CheckinConfig())
    alarms = detector.advance(at(start))
    for event in events:
        alarms += detector.feed(event)
    alarms += detector.advance(at(until))
    return [(a.type, _local(a.time)) for a in alarms]


def test_is_a_home_detector() -> None:
    detector: HomeDetector = DailyCheckin()
    assert detector.advance(at(MIDNIGHT)) == []


def test_press_before_reminder_raises_nothing() -> None:
    assert run([press("2024-03-01 07:00:00")], "2024-03-01 23:59:59") == []


def test_no_press_reminds_at_0930_and_alarms_at_1015() -> None:
    detector = DailyCheckin()
    assert detector.advance(at(MIDNIGHT)) == []
    assert detector.advance(at("2024-03-01 09:29:59")) == []
    reminder = detector.advance(at("2024-03-01 09:30:00"))
    assert reminder == [
        HomeAlarm("checkin_reminder", at("2024-03-01 09:30:00"), {"to": "resident", "due": "10:00"})
    ]
    assert detector.advance(at("2024-03-01 10:14:59")) == []
    alarm = detector.advance(at("2024-03-01 10:15:00"))
    assert alarm == [HomeAlarm("missed_checkin", at("2024-03-01 10:15:00"), {"due": "10:00"})]
    assert detector.advance(at("2024-03-01 23:00:00")) == []


def test_press_between_reminder_and_alarm_gives_reminder_only() -> None:
    alarms = run([press("2024-03-01 09:50:00")], "2024-03-01 23:00:00")
    assert alarms == [("checkin_reminder", "2024-03-01 09:30:00")]


def test_press_after_alarm_is_reported_late_once() -> None:
    detector = DailyCheckin()
    detector.advance(at(MIDNIGHT))
    alarms = detector.feed(CheckinPressed(at("2024-03-01 10:40:00"), "pendant"))
    assert [a.type for a in alarms] == ["checkin_reminder", "missed_checkin", "checkin_late"]
    late = alarms[-1]
    assert late.time == at("2024-03-01 10:40:00")
    assert late.detail == {
        "to": "centre",
        "due": "10:00",
        "pressed": "2024-03-01 10:40:00",
        "device": "pendant",
    }
    assert detector.feed(CheckinPressed(at("2024-03-01 10:41:00"), "pendant")) == []


def test_press_at_the_alarm_second_is_late() -> None:
    alarms = run([press("2024-03-01 10:15:00")], "2024-03-01 23:00:00")
    assert [a for a, _ in alarms] == ["checkin_reminder", "missed_checkin", "checkin_late"]


def test_press_at_the_reminder_second_still_reminds() -> None:
    alarms = run([press("2024-03-01 09:30:00")], "2024-03-01 23:00:00")
    assert alarms == [("checkin_reminder", "2024-03-01 09:30:00")]


def test_press_the_evening_before_does_not_count_for_the_next_day() -> None:
    alarms = run([press("2024-02-29 23:50:00")], "2024-03-01 12:00:00", start="2024-02-29 12:00:00")
    assert alarms == [
        ("checkin_reminder", "2024-03-01 09:30:00"),
        ("missed_checkin", "2024-03-01 10:15:00"),
    ]


def test_sensor_activity_is_not_a_checkin() -> None:
    activity = [
        SensorEvent(at(f"2024-03-01 0{h}:00:00"), "pir", SensorKind.MOTION, "Kitchen", 1)
        for h in range(7, 10)
    ]
    alarms = run(activity, "2024-03-01 12:00:00")
    assert [a for a, _ in alarms] == ["checkin_reminder", "missed_checkin"]


def test_skip_dates_raise_nothing() -> None:
    config = CheckinConfig(skip_dates=frozenset({"2024-03-02"}))
    alarms = run([], "2024-03-03 12:00:00", config)
    assert [d[:10] for _, d in alarms] == ["2024-03-01"] * 2 + ["2024-03-03"] * 2


def test_only_the_given_weekdays_are_watched() -> None:
    weekdays = CheckinConfig(days=frozenset(range(5)))  # Monday to Friday
    alarms = run([], "2024-03-04 23:00:00", weekdays)  # Friday to Monday
    assert [d[:10] for _, d in alarms] == ["2024-03-01"] * 2 + ["2024-03-04"] * 2


def test_press_on_an_unwatched_day_raises_nothing() -> None:
    config = CheckinConfig(skip_dates=frozenset({"2024-03-01"}))
    assert run([press("2024-03-01 11:00:00")], "2024-03-01 23:00:00", config) == []


def test_several_days_with_advance_only_once_each_per_day() -> None:
    detector = DailyCheckin()
    alarms = detector.advance(at(MIDNIGHT))
    alarms += detector.advance(at("2024-03-05 23:00:00"))  # one jump over five days
    alarms += detector.advance(at("2024-03-05 23:30:00"))
    expected: list[tuple[str, str]] = []
    for day in range(1, 6):
        expected += [
            ("checkin_reminder", f"2024-03-0{day} 09:30:00"),
            ("missed_checkin", f"2024-03-0{day} 10:15:00"),
        ]
    assert [(a.type, _local(a.time)) for a in alarms] == expected


def test_days_with_and_without_press() -> None:
    events = [press("2024-03-01 08:00:00"), press("2024-03-03 09:45:00")]
    alarms = run(events, "2024-03-03 23:00:00")
    assert alarms == [
        ("checkin_reminder", "2024-03-02 09:30:00"),
        ("missed_checkin", "2024-03-02 10:15:00"),
        ("checkin_reminder", "2024-03-03 09:30:00"),
    ]


def test_watch_begun_after_the_reminder_skips_that_day() -> None:
    """Installed at 09:45: nobody was reminded, so no alarm at 10:15; the next day counts."""
    alarms = run([], "2024-03-02 12:00:00", start="2024-03-01 09:45:00")
    assert [d[:10] for _, d in alarms] == ["2024-03-02"] * 2


def test_clock_going_back_is_ignored() -> None:
    detector = DailyCheckin()
    detector.advance(at("2024-03-01 11:00:00"))
    assert detector.advance(at("2024-03-01 08:00:00")) == []
    assert detector.now == at("2024-03-01 11:00:00")


def test_custom_due_and_grace_zero() -> None:
    config = CheckinConfig(due=time(8, 30), reminder_before_s=10 * MIN, grace_s=0)
    alarms = run([], "2024-03-01 12:00:00", config)
    assert alarms == [
        ("checkin_reminder", "2024-03-01 08:20:00"),
        ("missed_checkin", "2024-03-01 08:30:00"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reminder_before_s": 0}, "reminder must be before due"),
        ({"reminder_before_s": -60}, "reminder must be before due"),
        ({"due": time(0, 10), "reminder_before_s": 20 * MIN}, "before 00:00"),
        ({"grace_s": -1}, "grace_s"),
        ({"grace_s": float("nan")}, "grace_s"),
        ({"due": time(23, 50), "grace_s": 10 * MIN}, "before midnight"),
        ({"days": frozenset()}, "days"),
        ({"days": frozenset({7})}, "days"),
        ({"skip_dates": frozenset({"1 March"})}, "skip_dates"),
        ({"skip_dates": frozenset({"20240301"})}, "skip_dates"),
    ],
)
def test_config_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(CheckinConfigError, match=message):
        CheckinConfig(**kwargs)  # type: ignore[arg-type]


# --- advance-invariance: extra advance calls anywhere change nothing ------------------------

BASE = at("2024-02-28 00:00:00")


@st.composite
def press_logs(draw: st.DrawFn) -> list[SensorEvent | CheckinPressed]:
    gaps = draw(st.lists(st.integers(0, 20 * 3600), min_size=1, max_size=30))
    events: list[SensorEvent | CheckinPressed] = []
    t = BASE
    for gap in gaps:
        t += gap
        if draw(st.booleans()):
            events.append(CheckinPressed(t, draw(st.sampled_from(["a", "b"]))))
        else:
            events.append(SensorEvent(t, "pir", SensorKind.MOTION, "R", 1))
    return events


def _alarms(
    config: CheckinConfig,
    events: list[SensorEvent | CheckinPressed],
    extra: list[float],
    until: float,
) -> list[HomeAlarm]:
    return run_with_advances(DailyCheckin(config, start=BASE), events, extra, until)


@settings(max_examples=300, deadline=None)
@given(
    events=press_logs(),
    extra=st.lists(st.floats(0, 1.0), max_size=30),
    days=st.sets(st.integers(0, 6), min_size=1),
    skip=st.sets(st.integers(0, 10), max_size=3),
    grace=st.sampled_from([0.0, 15 * MIN, 2 * 3600.0]),
)
def test_alarms_do_not_depend_on_advance_calls(
    events: list[SensorEvent | CheckinPressed],
    extra: list[float],
    days: set[int],
    skip: set[int],
    grace: float,
) -> None:
    skip_dates = frozenset(_local(BASE + d * DAY)[:10] for d in skip)
    config = CheckinConfig(grace_s=grace, days=frozenset(days), skip_dates=skip_dates)
    until = events[-1].time + 2 * DAY
    plain = _alarms(config, events, [], until)
    assert _alarms(config, events, [BASE + x * (until - BASE) for x in extra], until) == plain
    # One advance at every second a deadline could fall on, and around each event.
    deadlines = [
        BASE + d * DAY + s
        for d in range(int((until - BASE) // DAY) + 1)
        for s in (9.5 * 3600 - 1, 9.5 * 3600, 10 * 3600 + grace, 10 * 3600 + grace + 1)
    ]
    around = [e.time + d for e in events for d in (-1.0, 0.0, 1.0)]
    dense = [t for t in deadlines + around if BASE <= t <= until]
    assert _alarms(config, events, dense, until) == plain
    # Each day at most one of each kind, and a missed check-in only after its reminder.
    for kind in ("checkin_reminder", "missed_checkin", "checkin_late"):
        days_seen = [a.time // DAY for a in plain if a.type == kind]
        assert len(days_seen) == len(set(days_seen))
    reminded = {a.time // DAY for a in plain if a.type == "checkin_reminder"}
    assert all(a.time // DAY in reminded for a in plain if a.type == "missed_checkin")
