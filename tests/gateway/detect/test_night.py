"""Night bed exit and wandering on synthetic nights: what alarms, when, and what does not."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.detect.home_events import HomeAlarm, HomeDetector, SensorEvent, SensorKind
from gateway.detect.home_events import parse_local as at
from gateway.detect.night import NightBedExitDetector, NightConfig, WanderingDetector
from tests.gateway.detect.replaying import run_with_advances

MIN = 60.0


def ev(time: str, kind: SensorKind, value: int, device: str = "", room: str = "") -> SensorEvent:
    return SensorEvent(at(time), device or kind.value, kind, room or "Room", value)


def bed(time: str, value: int) -> SensorEvent:
    return ev(time, SensorKind.BED, value, "Bed", "Bedroom")


def run(detector: HomeDetector, events: Sequence[SensorEvent], until: str) -> list[HomeAlarm]:
    alarms: list[HomeAlarm] = []
    for event in events:
        alarms += detector.feed(event)
    return alarms + detector.advance(at(until))


def night_of(*events: SensorEvent) -> list[SensorEvent]:
    """In bed at 23:00, then the given events."""
    return [bed("2024-03-01 23:00:00", 1), *events]


def test_toilet_trip_at_night_raises_nothing() -> None:
    events = night_of(
        bed("2024-03-02 02:00:00", 0),
        ev("2024-03-02 02:01:00", SensorKind.MOTION, 1, "Basin", "Bathroom"),
        ev("2024-03-02 02:03:00", SensorKind.APPLIANCE, 1, "Toilet", "Bathroom"),
        ev("2024-03-02 02:04:00", SensorKind.MOTION, 0, "Basin", "Bathroom"),
        bed("2024-03-02 02:06:00", 1),
    )
    assert run(NightBedExitDetector(), events, "2024-03-02 09:00:00") == []


def test_out_of_bed_50_min_at_2_alarms_at_45_min() -> None:
    events = night_of(bed("2024-03-02 02:00:00", 0), bed("2024-03-02 02:50:00", 1))
    alarms = run(NightBedExitDetector(), events, "2024-03-02 09:00:00")
    assert [(a.type, a.time) for a in alarms] == [("night_bed_exit", at("2024-03-02 02:45:00"))]
    assert alarms[0].detail["bed_exit"] == "2024-03-02 02:00:00"


def test_back_in_bed_at_44_min_raises_nothing() -> None:
    events = night_of(bed("2024-03-02 02:00:00", 0), bed("2024-03-02 02:44:00", 1))
    assert run(NightBedExitDetector(), events, "2024-03-02 09:00:00") == []


def test_out_of_bed_in_the_daytime_raises_nothing() -> None:
    events = [bed("2024-03-02 13:00:00", 1), bed("2024-03-02 14:00:00", 0)]
    assert run(NightBedExitDetector(), events, "2024-03-02 20:00:00") == []


def test_dementia_profile_alarms_after_20_min() -> None:
    events = night_of(bed("2024-03-02 02:00:00", 0))
    alarms = run(NightBedExitDetector(NightConfig(dementia=True)), events, "2024-03-02 03:00:00")
    assert [a.time for a in alarms] == [at("2024-03-02 02:20:00")]


def test_flicker_in_bed_raises_nothing() -> None:
    """A mat that drops out for seconds, many times, under a sleeper."""
    events = [bed("2024-03-01 23:00:00", 1)]
    for minute in range(0, 300, 7):
        hh, mm = divmod(minute, 60)
        events += [bed(f"2024-03-02 0{hh}:{mm:02d}:00", 0), bed(f"2024-03-02 0{hh}:{mm:02d}:20", 1)]
    assert run(NightBedExitDetector(), events, "2024-03-02 09:00:00") == []


def test_flicker_of_an_empty_bed_does_not_end_the_spell() -> None:
    """A 10 s 'occupied' blip while the resident is out is not back in bed."""
    events = night_of(
        bed("2024-03-02 02:00:00", 0),
        bed("2024-03-02 02:30:00", 1),
        bed("2024-03-02 02:30:10", 0),
    )
    alarms = run(NightBedExitDetector(), events, "2024-03-02 04:00:00")
    assert [a.time for a in alarms] == [at("2024-03-02 02:45:00")]


def test_awake_resident_defers_the_alarm_from_the_last_activity() -> None:
    events = night_of(
        bed("2024-03-02 02:00:00", 0),
        ev("2024-03-02 02:20:00", SensorKind.DOOR, 1, "Fridge", "Kitchen"),
    )
    alarms = run(NightBedExitDetector(), events, "2024-03-02 05:00:00")
    assert [a.time for a in alarms] == [at("2024-03-02 03:05:00")]


def test_seated_at_night_is_not_a_bed_exit_alarm() -> None:
    events = night_of(
        bed("2024-03-02 02:00:00", 0),
        ev("2024-03-02 02:05:00", SensorKind.SEAT, 1, "Seat", "Living"),
        ev("2024-03-02 04:00:00", SensorKind.SEAT, 0, "Seat", "Living"),
        bed("2024-03-02 04:10:00", 1),
    )
    assert run(NightBedExitDetector(), events, "2024-03-02 09:00:00") == []


def test_up_early_for_the_day_raises_nothing() -> None:
    events = night_of(
        bed("2024-03-02 05:30:00", 0),
        ev("2024-03-02 05:35:00", SensorKind.MOTION, 1, "Basin", "Bathroom"),
        ev("2024-03-02 05:45:00", SensorKind.APPLIANCE, 1, "Kettle", "Kitchen"),
    )
    assert run(NightBedExitDetector(), events, "2024-03-02 09:00:00") == []


def test_out_of_bed_before_six_and_nothing_since_still_alarms() -> None:
    events = night_of(bed("2024-03-02 05:40:00", 0))
    alarms = run(NightBedExitDetector(), events, "2024-03-02 09:00:00")
    assert [a.time for a in alarms] == [at("2024-03-02 06:25:00")]


def test_leaving_home_is_wanderings_alarm_not_bed_exits() -> None:
    events = night_of(
        bed("2024-03-02 02:00:00", 0),
        ev("2024-03-02 02:10:00", SensorKind.EXIT_DOOR, 1, "Maindoor", "Entrance"),
        ev("2024-03-02 02:10:05", SensorKind.EXIT_DOOR, 0, "Maindoor", "Entrance"),
    )
    assert run(NightBedExitDetector(), events, "2024-03-02 09:00:00") == []
    alarms = run(WanderingDetector(), events, "2024-03-02 09:00:00")
    assert [(a.type, a.time) for a in alarms] == [("wandering", at("2024-03-02 02:25:00"))]


def test_back_inside_after_the_door_resumes_the_bed_exit_watch() -> None:
    events = night_of(
        bed("2024-03-02 02:00:00", 0),
        ev("2024-03-02 02:10:00", SensorKind.EXIT_DOOR, 1, "Maindoor", "Entrance"),
        ev("2024-03-02 02:20:00", SensorKind.MOTION, 1, "Hall", "Hall"),
    )
    alarms = run(NightBedExitDetector(), events, "2024-03-02 05:00:00")
    assert [a.time for a in alarms] == [at("2024-03-02 03:05:00")]
    assert run(WanderingDetector(), events, "2024-03-02 05:00:00") == []


def test_exit_door_at_3_and_nothing_indoors_is_wandering() -> None:
    events = [ev("2024-03-02 03:00:00", SensorKind.EXIT_DOOR, 1, "Maindoor", "Entrance")]
    alarms = run(WanderingDetector(), events, "2024-03-02 09:00:00")
    assert [(a.type, a.time) for a in alarms] == [("wandering", at("2024-03-02 03:15:00"))]
    assert alarms[0].detail["door_opened"] == "2024-03-02 03:00:00"


def test_exit_door_then_kitchen_motion_is_not_wandering() -> None:
    events = [
        ev("2024-03-02 03:00:00", SensorKind.EXIT_DOOR, 1, "Maindoor", "Entrance"),
        ev("2024-03-02 03:00:06", SensorKind.EXIT_DOOR, 0, "Maindoor", "Entrance"),
        ev("2024-03-02 03:05:00", SensorKind.MOTION, 1, "Cooktop", "Kitchen"),
    ]
    assert run(WanderingDetector(), events, "2024-03-02 09:00:00") == []


def test_hall_motion_as_the_resident_walks_out_does_not_end_the_watch() -> None:
    events = [
        ev("2024-03-02 03:00:00", SensorKind.EXIT_DOOR, 1, "Maindoor", "Entrance"),
        ev("2024-03-02 03:00:10", SensorKind.MOTION, 1, "Hall", "Hall"),
    ]
    alarms = run(WanderingDetector(), events, "2024-03-02 09:00:00")
    assert [a.time for a in alarms] == [at("2024-03-02 03:15:00")]


def test_exit_door_in_the_day_or_with_the_resident_in_bed_is_not_wandering() -> None:
    day = [ev("2024-03-02 14:00:00", SensorKind.EXIT_DOOR, 1, "Maindoor", "Entrance")]
    assert run(WanderingDetector(), day, "2024-03-02 20:00:00") == []
    visitor = night_of(ev("2024-03-01 23:30:00", SensorKind.EXIT_DOOR, 1, "Maindoor", "Entr"))
    assert run(WanderingDetector(), visitor, "2024-03-02 09:00:00") == []


def test_coming_home_late_is_not_wandering() -> None:
    """Ordonez house A, 2011-12-11: back home at 00:56, on the seat at 01:01."""
    events = [
        ev("2011-12-11 00:56:01", SensorKind.EXIT_DOOR, 1, "Maindoor", "Entrance"),
        ev("2011-12-11 00:56:05", SensorKind.EXIT_DOOR, 0, "Maindoor", "Entrance"),
        ev("2011-12-11 01:01:41", SensorKind.SEAT, 1, "Seat", "Living"),
    ]
    assert run(WanderingDetector(), events, "2011-12-11 09:00:00") == []


# --- advance-invariance: extra advance calls anywhere change nothing ------------------------

BASE = at("2024-03-01 21:00:00")
KINDS = list(SensorKind)


@st.composite
def event_logs(draw: st.DrawFn) -> list[SensorEvent]:
    gaps = draw(st.lists(st.floats(0, 3 * 3600), min_size=1, max_size=40))
    events: list[SensorEvent] = []
    t = BASE
    for gap in gaps:
        t += round(gap)
        kind = draw(st.sampled_from(KINDS))
        device = draw(st.sampled_from(["a", "b"]))
        events.append(
            SensorEvent(t, f"{kind.value}-{device}", kind, "R", draw(st.sampled_from([0, 1])))
        )
    return events


def _alarms(
    factory: type[NightBedExitDetector] | type[WanderingDetector],
    config: NightConfig,
    events: list[SensorEvent],
    extra: list[float],
    until: float,
) -> list[HomeAlarm]:
    return run_with_advances(factory(config), events, extra, until)


@settings(max_examples=300, deadline=None)
@given(
    events=event_logs(),
    extra=st.lists(st.floats(0, 1.0), max_size=30),
    dementia=st.booleans(),
)
def test_alarms_do_not_depend_on_advance_calls(
    events: list[SensorEvent], extra: list[float], dementia: bool
) -> None:
    until = events[-1].time + 12 * 3600
    extra_times = [BASE + x * (until - BASE) for x in extra]
    config = NightConfig(dementia=dementia)
    for factory in (NightBedExitDetector, WanderingDetector):
        plain = _alarms(factory, config, events, [], until)
        assert _alarms(factory, config, events, extra_times, until) == plain
        # One advance per second-resolution boundary a deadline could fall on.
        dense = [e.time + d for e in events for d in (0.0, 1.0, 59.0, 60.0, 61.0)]
        assert _alarms(factory, config, events, dense, until) == plain
