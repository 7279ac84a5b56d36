"""Away periods in the home detectors: the empty home raises nothing, is not learned, and
activity during a period ends it early (gateway/detect/away.py)."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.detect.away import AWAY_ENDED, AwayPeriod
from gateway.detect.home import HomeMonitor
from gateway.detect.home_events import HomeAlarm, SensorEvent, SensorKind
from gateway.detect.inactivity import InactivityDetector
from tests.gateway.detect.replaying import run_with_advances
from tests.gateway.detect.test_inactivity import DAY, HOUR, T0, ev, home, routine_day


def monitor_away(*periods: AwayPeriod) -> HomeMonitor:
    monitor = HomeMonitor()
    monitor.away.replace(periods)
    return monitor


def run(monitor: HomeMonitor, events: list[SensorEvent], until: float) -> list[HomeAlarm]:
    return run_with_advances(monitor, events, [], until)


def inactivity(monitor: HomeMonitor) -> InactivityDetector:
    return next(d for d in monitor.detectors if isinstance(d, InactivityDetector))


# Ten days of routine; on day 10 the resident gets up, potters about and leaves at 08:00 with
# no exit-door sensor seen (the hall PIR last), away for a week.
ROUTINE = [
    *home(10),
    *[e for e in routine_day(10) if e.time <= T0 + 10 * DAY + 7 * HOUR + 40 * 60],
    ev(10, "07:55", "hall", SensorKind.MOTION),
]
HOLIDAY = AwayPeriod(T0 + 10 * DAY + 8 * HOUR, T0 + 17 * DAY + 18 * HOUR, "Hainan")


def test_without_away_mode_the_empty_home_alarms() -> None:
    """The baseline the away period exists for: no exit door seen, so a silence."""
    alarms = run(HomeMonitor(), ROUTINE, T0 + 12 * DAY)
    assert [a.type for a in alarms] == ["inactivity"]


def test_an_away_period_silences_inactivity_and_lasts_past_its_end() -> None:
    # Nothing moves all week, nor for two days after the planned return (back late).
    assert run(monitor_away(HOLIDAY), ROUTINE, T0 + 20 * DAY) == []


def test_the_away_silence_is_not_learned_as_the_routine() -> None:
    monitor = monitor_away(HOLIDAY)
    run(monitor, ROUTINE, T0 + 10 * DAY + 8 * HOUR + 56 * 60)
    learned_before = dict(inactivity(monitor).learned)
    back = [
        ev(17, "17:00", "front", SensorKind.EXIT_DOOR),
        ev(17, "17:01", "hall", SensorKind.MOTION),
    ]
    run(monitor, back, T0 + 17 * DAY + 17 * HOUR + 2 * 60)
    assert inactivity(monitor).learned == learned_before  # a week's silence left no mark


def test_activity_during_the_period_ends_it_and_monitoring_resumes() -> None:
    came_back = ev(12, "14:00", "hall", SensorKind.MOTION)  # two days in: back early
    alarms = run(monitor_away(HOLIDAY), [*ROUTINE, came_back], T0 + 13 * DAY)
    assert [a.type for a in alarms] == [AWAY_ENDED, "inactivity"]
    ended, alarm = alarms
    assert ended.time == came_back.time
    assert ended.detail["device"] == "hall"
    assert ended.detail["until"] == "2024-03-21 18:00:00"
    assert alarm.detail["silence_start"] == "2024-03-16 14:00:00"  # counted from her return


def test_an_appliance_or_a_sensor_going_inactive_does_not_end_it() -> None:
    """A lamp on a timer against burglars, a door contact settling: nobody is in."""
    lamp = [
        ev(11, "19:00", "lamp", SensorKind.APPLIANCE, 1),
        ev(11, "23:00", "lamp", SensorKind.APPLIANCE, 0),
    ]
    settling = [ev(12, "03:00", "bath-door", SensorKind.DOOR, 0)]
    assert run(monitor_away(HOLIDAY), [*ROUTINE, *lamp, *settling], T0 + 20 * DAY) == []


def test_a_night_spell_or_watch_running_when_the_period_starts_is_dropped() -> None:
    night = [
        ev(0, "23:00", "bed", SensorKind.BED, 1),
        ev(1, "02:00", "bed", SensorKind.BED, 0),  # out of bed...
        ev(1, "02:05", "front", SensorKind.EXIT_DOOR, 1),  # ...and out of the door
    ]
    away = AwayPeriod(T0 + DAY + 2 * HOUR + 10 * 60, T0 + 3 * DAY)  # "away now", set at 02:10
    assert run(monitor_away(away), night, T0 + DAY + 6 * HOUR) == []
    assert [a.type for a in run(HomeMonitor(), night, T0 + DAY + 6 * HOUR)] == ["wandering"]


def test_an_exit_door_at_night_while_away_ends_it_and_is_watched_as_wandering() -> None:
    """Somebody let themselves into the empty home at night and nothing moves inside: the
    resident collapsed in the hall, or an intruder; the centre calls either way."""
    door = ev(13, "23:30", "front", SensorKind.EXIT_DOOR, 1)
    alarms = run(monitor_away(HOLIDAY), [*ROUTINE, door], T0 + 14 * DAY)
    assert [(a.type, a.time) for a in alarms] == [
        (AWAY_ENDED, door.time),
        ("wandering", door.time + 15 * 60),
    ]


def test_a_period_received_after_its_start_applies_from_then() -> None:
    """ "Away now" reaches the gateway a little after the instant the centre stamped."""
    monitor = HomeMonitor()
    run(monitor, ROUTINE, HOLIDAY.start + 30)
    monitor.away.replace((HOLIDAY,))
    assert monitor.advance(T0 + 20 * DAY) == []


def test_a_period_ended_early_stays_ended_when_the_schedule_is_sent_again() -> None:
    monitor = monitor_away(HOLIDAY)
    run(monitor, [*ROUTINE, ev(12, "14:00", "hall", SensorKind.MOTION)], T0 + 12 * DAY + 15 * HOUR)
    monitor.away.replace((HOLIDAY,))  # another configuration revision, same period
    restored = pickle.loads(pickle.dumps(monitor))  # and a restart
    assert not restored.away.covers(T0 + 13 * DAY)
    assert [a.type for a in restored.advance(T0 + 13 * DAY)] == ["inactivity"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=40))
def test_alarms_do_not_depend_on_extra_advance_calls(fractions: list[float]) -> None:
    events = [
        *ROUTINE,
        ev(12, "14:00", "hall", SensorKind.MOTION),
        ev(13, "23:30", "front", SensorKind.EXIT_DOOR),
    ]
    end = T0 + 15 * DAY
    plain = run(monitor_away(HOLIDAY), events, end)
    start = events[0].time
    extra = [start + f * (end - start) for f in fractions]
    assert run_with_advances(monitor_away(HOLIDAY), events, extra, end) == plain
