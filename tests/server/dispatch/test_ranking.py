"""Ranking responders: distance and arrival, rosters, availability, skills, preferences."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.dispatch.geo import eta_s, haversine_m
from server.dispatch.priority import effective_priority
from server.dispatch.ranking import Scene, rank
from server.dispatch.roster import on_duty
from server.dispatch.settings import DEFAULTS, resolve

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOME = (31.2304, 121.4737)  # People's Square, Shanghai
# Monday 2026-11-23 10:00 in Shanghai
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@dataclass
class FakeResponder:
    id: int
    kind: str = "care_worker"
    status: str = "available"
    resident_id: int | None = None
    skills: list[str] = field(default_factory=list)
    roster: list[dict[str, Any]] = field(default_factory=list)
    latitude: float | None = HOME[0]
    longitude: float | None = HOME[1]
    speed_kmh: float = 15.0


def north_of_home(metres: float) -> float:
    return HOME[0] + metres / 111_195.0  # one degree of latitude, mean Earth radius


def test_haversine_matches_known_distances() -> None:
    # One degree of latitude on the mean sphere, and Shanghai to Beijing (~1,067 km).
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)
    assert haversine_m(31.2304, 121.4737, 39.9042, 116.4074) == pytest.approx(1_067_000, rel=0.01)
    assert haversine_m(*HOME, *HOME) == 0


def test_eta_uses_speed_and_detour() -> None:
    # 3 km of great circle, 1.3 detour, 15 km/h: 3.9 km at 4.1667 m/s = 936 s.
    assert eta_s(3000, 15, 1.3) == pytest.approx(936.0)
    assert eta_s(3000, 0, 1.3) == float("inf")


@pytest.mark.parametrize(
    ("window", "moment", "expected"),
    [
        ({"day": 0, "start": "08:00", "end": "16:00"}, datetime(2026, 11, 23, 8, 0), True),
        ({"day": 0, "start": "08:00", "end": "16:00"}, datetime(2026, 11, 23, 16, 0), False),
        ({"day": 0, "start": "08:00", "end": "16:00"}, datetime(2026, 11, 24, 10, 0), False),
        # A night shift from Monday 22:00 runs into Tuesday 06:00.
        ({"day": 0, "start": "22:00", "end": "06:00"}, datetime(2026, 11, 24, 5, 59), True),
        ({"day": 0, "start": "22:00", "end": "06:00"}, datetime(2026, 11, 24, 6, 0), False),
        ({"day": 0, "start": "22:00", "end": "06:00"}, datetime(2026, 11, 23, 21, 59), False),
        ({"day": 6, "start": "22:00", "end": "06:00"}, datetime(2026, 11, 23, 1, 0), True),
    ],
)
def test_roster_windows_in_local_time(
    window: dict[str, Any], moment: datetime, expected: bool
) -> None:
    local = moment.replace(tzinfo=SHANGHAI)
    assert on_duty([window], local.astimezone(UTC), SHANGHAI) is expected


def test_empty_roster_means_no_fixed_hours() -> None:
    assert on_duty([], MONDAY_10, SHANGHAI)


def test_nearest_first_among_equals_and_unavailable_left_out() -> None:
    responders = [
        FakeResponder(1, latitude=north_of_home(2000)),
        FakeResponder(2, latitude=north_of_home(500)),
        FakeResponder(3, latitude=north_of_home(100), status="busy"),
        FakeResponder(4, latitude=north_of_home(50), status="off_duty"),
        FakeResponder(
            5, latitude=north_of_home(300), roster=[{"day": 1, "start": "08:00", "end": "16:00"}]
        ),
    ]
    scene = Scene("inactivity", *HOME)
    ranked = rank(responders, scene, MONDAY_10, DEFAULTS)
    assert [s.responder_id for s in ranked] == [2, 1]
    assert ranked[0].distance_m == pytest.approx(500, rel=1e-3)
    assert ranked[0].eta_s == pytest.approx(500 * 1.3 / (15 / 3.6), rel=1e-3)


def test_skills_then_preference_beat_distance_inside_the_radius_but_not_outside() -> None:
    near = FakeResponder(1, latitude=north_of_home(200))
    skilled = FakeResponder(2, latitude=north_of_home(1500), skills=["first_aid", "lifting"])
    preferred = FakeResponder(3, latitude=north_of_home(1000))
    far_skilled = FakeResponder(4, latitude=north_of_home(10_000), skills=["first_aid", "lifting"])
    scene = Scene("fall", *HOME, preferred=frozenset({3}))
    ranked = rank([near, skilled, preferred, far_skilled], scene, MONDAY_10, DEFAULTS)
    # 10 km at 15 km/h with detour is ~52 min: outside the 15-minute town radius.
    assert [s.responder_id for s in ranked] == [2, 3, 1, 4]
    assert not ranked[-1].within_radius
    remote = rank([far_skilled], Scene("fall", *HOME, area="remote"), MONDAY_10, DEFAULTS)
    assert not remote[0].within_radius  # 52 min is beyond 30 minutes too
    fast = FakeResponder(4, latitude=north_of_home(10_000), speed_kmh=40, skills=["first_aid"])
    assert rank([fast], Scene("emergency_call", *HOME, area="remote"), MONDAY_10, DEFAULTS)[
        0
    ].within_radius  # ~19.5 min: inside 30


def test_family_only_for_their_own_resident_and_kinds_filter() -> None:
    mine = FakeResponder(1, kind="family", resident_id=7)
    theirs = FakeResponder(2, kind="family", resident_id=8)
    worker = FakeResponder(3)
    scene = Scene("fall", *HOME, resident_id=7)
    assert [
        s.responder_id
        for s in rank([mine, theirs, worker], scene, MONDAY_10, DEFAULTS, kinds=["family"])
    ] == [1]
    unknown = Scene("fall", *HOME, resident_id=None)
    assert [s.responder_id for s in rank([mine, worker], unknown, MONDAY_10, DEFAULTS)] == [3]


def test_no_position_ranks_after_known_arrivals() -> None:
    unknown = FakeResponder(1, latitude=None, longitude=None)
    known = FakeResponder(2, latitude=north_of_home(5000))
    ranked = rank([unknown, known], Scene("fall", *HOME), MONDAY_10, DEFAULTS)
    assert [s.responder_id for s in ranked] == [2, 1]
    assert ranked[1].eta_s is None


def test_priority_raised_by_profile_and_clamped() -> None:
    boost = DEFAULTS.priority_boost
    assert effective_priority(3, ["living_alone"], boost) == 2
    assert effective_priority(3, ["living_alone", "dementia", "dementia"], boost) == 1
    assert effective_priority(1, ["living_alone", "dementia", "severe_disability"], boost) == 0
    assert effective_priority(6, ["advanced_age"], boost) == 6


def test_settings_merge_nearest_last_and_refuse_nonsense() -> None:
    city = {"notify_timeout_s": 120, "timezone": "Asia/Shanghai"}
    community = {"notify_timeout_s": 30}
    merged = resolve([city, community])
    assert merged.notify_timeout_s == 30
    assert merged.timezone == "Asia/Shanghai"
    assert merged.notify_attempts == DEFAULTS.notify_attempts
    with pytest.raises(ValueError, match="time zone"):
        resolve([{"timezone": "Mars/Olympus"}])
    with pytest.raises(ValueError, match="notify_timout_s"):
        resolve([{"notify_timout_s": 5}])  # a typo is refused, not ignored
