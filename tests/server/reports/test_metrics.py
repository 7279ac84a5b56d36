"""Report metrics as pure functions on constructed facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.reports.metrics import (
    AlarmFacts,
    Outage,
    answer_times,
    availability,
    by_kind,
    false_alarm_share,
    on_scene_times,
    percentile,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def facts(kind: str, ack_s: float | None, scene_s: float | None, outcome: str | None) -> AlarmFacts:
    return AlarmFacts(
        kind,
        T0,
        None if ack_s is None else T0 + timedelta(seconds=ack_s),
        None if scene_s is None else T0 + timedelta(seconds=scene_s),
        outcome,
    )


ALARMS = [
    facts("fall", 10, 600, "real_emergency"),
    facts("fall", 50, 900, "false_alarm"),
    facts("emergency_call", 61, None, "false_alarm"),
    facts("emergency_call", 170, 1200, "test"),
    facts("smoke", None, None, None),  # nobody answered: a miss, not absent
]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(x) for x in range(1, 11)], 90) == 9.0


def test_answer_times_count_unanswered_alarms_as_missed() -> None:
    times = answer_times(ALARMS)
    assert times.count == 4
    assert (times.p50_s, times.p90_s) == (50.0, 170.0)
    assert times.within_60s == 2 / 5
    assert times.within_180s == 4 / 5
    assert answer_times([]).within_60s is None


def test_kinds_on_scene_and_false_alarms() -> None:
    assert by_kind(ALARMS) == {"emergency_call": 2, "fall": 2, "smoke": 1}
    scene = on_scene_times(ALARMS)
    assert (scene.count, scene.p50_s, scene.p90_s) == (3, 900.0, 1200.0)
    assert false_alarm_share(ALARMS) == 2 / 4
    assert false_alarm_share([]) is None


def test_availability_clips_to_the_period_and_merges_overlaps() -> None:
    start, end = T0, T0 + timedelta(hours=10)
    h = timedelta(hours=1)
    outages = [
        Outage("gw-1", start - h, start + h),  # 1 h inside the period
        Outage("gw-2", start + 2 * h, start + 4 * h),  # 2 h ...
        Outage("gw-2", start + 3 * h, start + 5 * h),  # ... overlapping: 3 h together
        Outage("gw-3", end - h, None),  # still down: 1 h up to the period's end
        Outage("gw-4", end + h, None),  # after the period
    ]
    got = availability(outages, 4, start, end)
    assert got.down_s == 5 * 3600
    assert got.outages == 4
    assert got.share_up == 1 - 5 / 40
    assert availability([], 0, start, end).share_up is None
