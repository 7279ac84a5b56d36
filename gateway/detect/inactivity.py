"""Unusual inactivity in the home: a silence that is implausible for this home at this hour.

A *silence* runs from the last activity (a sensor event the resident causes: anything
becoming active, and a door, bed, seat or motion sensor becoming inactive; an appliance
switching itself off is not a sign of life) to the next one. Its *context* is fixed by the
state the last activity left, since nothing changes while it lasts:

- ``away``: the last activity was the exit door and neither bed nor seat is occupied. The
  resident went out; no alarm until the first activity after (coming back). A resident who
  comes in and collapses by the door looks the same: without a hall sensor the two cannot
  be told apart.
- ``bed``: the bed is occupied, or the last activity was the bed during the night
  (``night_start_h``-``night_end_h``), e.g. a pressure mat that drops out under a sleeper.
- ``seat``: a seat is occupied (long television afternoons).
- ``awake``: anything else; the resident is up and about.

**Learning.** The detector starts knowing nothing about the home. When a silence ends, it
records, for each hour of day the silence covered, how long the silence had lasted by the end
of that hour (in that hour's day and the silence's context), keeping the daily maximum. The
learned limit for a context and an hour is ``margin`` times the largest such value over the
last ``history_days`` days, looking ``smoothing_h`` hours either side so that a routine
shifted by an hour stays normal, and never less than a share (``*_pool_share``) of the longest
at any hour: a routine is not tied to the clock (a television evening that runs on past
midnight; lying in after a bad night: in bed the share is 1, the hour does not matter). The
limit is never below the context's floor nor above ``cap_s``. It is never below the
context's default during the first ``learning_days`` either, nor below the default scaled
down linearly to nothing over the ``fade_days`` after that: a new gateway starts lenient and
tightens as it learns, since a few days of history say little about the longest silences.

**Alarm.** The pre-warning falls due at the first moment ``t`` when the silence's length
``t - start`` reaches the limit of ``t``'s hour (so the limit follows the time of day as the
silence goes on), and at the latest ``cap_s`` after the start, whatever the context. The
gateway then prompts the resident; any activity within ``prewarn_s`` cancels it, otherwise an
``inactivity`` alarm is raised when the window closes. The pre-warning time is computed once,
when the silence starts (the limits only change when a silence ends), so the alarms do not
depend on how often :meth:`InactivityDetector.advance` is called. One alarm per silence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from gateway.detect.home_events import HomeAlarm, SensorEvent, SensorKind, format_local

HOUR_S = 3600.0
DAY_S = 86400.0


class SilenceContext(StrEnum):
    AWAY = "away"
    BED = "bed"
    SEAT = "seat"
    AWAKE = "awake"


def hour_of_day(t: float) -> int:
    """The local hour of a local time in seconds (see :mod:`gateway.detect.home_events`)."""
    return datetime.fromtimestamp(t, UTC).hour


def _in_hours(hour: int, start_h: int, end_h: int) -> bool:
    """Whether ``hour`` lies in ``[start_h, end_h)``, which may wrap past midnight."""
    if start_h <= end_h:
        return start_h <= hour < end_h
    return hour >= start_h or hour < end_h


@dataclass(frozen=True, slots=True)
class InactivityConfig:
    """Parameters, in seconds and local hours of day.

    The defaults hold while the home is new (``learning_days``); the floors keep a very
    regular home from getting limits so tight that a slow morning raises an alarm.
    """

    prewarn_s: float = 600.0  # a commercial monitor's 10 min (DOMAIN.md)
    cap_s: float = 12 * HOUR_S  # any silence this long alarms, even in bed
    # learned limit = margin x the longest usual silence at that hour; seated silences vary
    # most from day to day (one evening in front of the television runs on to midnight)
    awake_margin: float = 1.5
    seat_margin: float = 2.0
    bed_margin: float = 1.5
    # an hour's usual silence is at least this share of the longest at any hour: a routine
    # is not tied to the clock (a television evening that runs on past any seen before)
    awake_pool_share: float = 0.5
    seat_pool_share: float = 0.75
    bed_pool_share: float = 1.0
    smoothing_h: int = 1  # hours either side that count as "the same time of day"
    history_days: int = 28
    learning_days: float = 3.0
    # after learning_days, the defaults still hold, scaled down linearly to nothing over
    # fade_days: a few days of history say little about the longest silences
    fade_days: float = 4.0
    awake_floor_s: float = 90 * 60.0
    seat_floor_s: float = 2 * HOUR_S
    bed_floor_s: float = 4 * HOUR_S
    awake_default_s: float = 3 * HOUR_S
    awake_evening_default_s: float = 4 * HOUR_S
    # a home with no bed sensor sleeps in the "awake" context: its nights are long silences
    awake_night_default_s: float = 10 * HOUR_S
    seat_default_s: float = 10 * HOUR_S
    bed_default_s: float = 11 * HOUR_S
    day_start_h: int = 7  # the awake defaults: day from day_start, evening, then night
    evening_start_h: int = 19
    night_start_h: int = 22  # "the bed was the last activity" means in bed only at night
    night_end_h: int = 6

    def floor_s(self, context: SilenceContext) -> float:
        if context is SilenceContext.BED:
            return self.bed_floor_s
        if context is SilenceContext.SEAT:
            return self.seat_floor_s
        return self.awake_floor_s

    def margin(self, context: SilenceContext) -> float:
        if context is SilenceContext.BED:
            return self.bed_margin
        if context is SilenceContext.SEAT:
            return self.seat_margin
        return self.awake_margin

    def pool_share(self, context: SilenceContext) -> float:
        if context is SilenceContext.BED:
            return self.bed_pool_share
        if context is SilenceContext.SEAT:
            return self.seat_pool_share
        return self.awake_pool_share

    def default_s(self, context: SilenceContext, hour: int) -> float:
        if context is SilenceContext.BED:
            return self.bed_default_s
        if context is SilenceContext.SEAT:
            return self.seat_default_s
        if _in_hours(hour, self.day_start_h, self.evening_start_h):
            return self.awake_default_s
        if _in_hours(hour, self.evening_start_h, self.night_start_h):
            return self.awake_evening_default_s
        return self.awake_night_default_s


def is_activity(event: SensorEvent) -> bool:
    """Whether the resident caused the event; an appliance turning off may be its timer."""
    return event.value == 1 or event.kind is not SensorKind.APPLIANCE


@dataclass(init=False)
class InactivityDetector:
    """The streaming inactivity detector; its fields are its whole state.

    ``learned`` maps ``(day, context, hour)`` to the longest silence of that context seen by
    the end of that hour on that day (seconds); ``day`` is ``floor(time / 86400)``.
    """

    config: InactivityConfig = field(default_factory=InactivityConfig)
    installed: float | None = None  # time of the first event
    now: float = -math.inf
    beds: set[str] = field(default_factory=set)  # bed devices occupied
    seats: set[str] = field(default_factory=set)
    silence_start: float | None = None
    context: SilenceContext = SilenceContext.AWAKE
    prewarn_at: float | None = None  # pre-warning of the current silence, if still to come
    limit_s: float = 0.0  # the limit that set prewarn_at, for the alarm's detail
    learned: dict[tuple[int, SilenceContext, int], float] = field(default_factory=dict)

    def __init__(self, config: InactivityConfig | None = None) -> None:
        self.config = config if config is not None else InactivityConfig()
        self.installed = None
        self.now = -math.inf
        self.beds = set()
        self.seats = set()
        self.silence_start = None
        self.context = SilenceContext.AWAKE
        self.prewarn_at = None
        self.limit_s = 0.0
        self.learned = {}

    def feed(self, event: SensorEvent) -> list[HomeAlarm]:
        """Advance to the event's time, then take the event."""
        alarms = self.advance(event.time)
        if self.installed is None:
            self.installed = event.time
        occupied = self.beds if event.kind is SensorKind.BED else self.seats
        if event.kind in (SensorKind.BED, SensorKind.SEAT):
            if event.value == 1:
                occupied.add(event.device)
            else:
                occupied.discard(event.device)
        if is_activity(event):
            if self.silence_start is not None:
                self._learn(self.silence_start, event.time, self.context)
            self.silence_start = event.time
            self.context = self._context_after(event)
            self.prewarn_at = self._prewarn_time(event.time, self.context)
        return alarms

    def advance(self, now: float) -> list[HomeAlarm]:
        """Move the clock to ``now``; an uncancelled pre-warning whose window closed alarms."""
        self.now = max(self.now, now)
        if self.prewarn_at is None or self.silence_start is None:
            return []
        alarm_time = self.prewarn_at + self.config.prewarn_s
        if self.now < alarm_time:
            return []
        alarm = HomeAlarm(
            type="inactivity",
            time=alarm_time,
            detail={
                "context": str(self.context),
                "silence_start": format_local(self.silence_start),
                "prewarn_time": format_local(self.prewarn_at),
                "limit_s": self.limit_s,
                "silence_s": alarm_time - self.silence_start,
            },
        )
        self.prewarn_at = None
        return [alarm]

    def home_empty(self, at: float) -> None:
        """An away period began (:mod:`gateway.detect.away`): the silence is an absence from
        now on, as after leaving through the exit door, so it warns of nothing and is not
        learned (``away`` silences never are) until the next activity ends it. The caller has
        advanced the detector to ``at`` first, so what fell due before was raised."""
        self.context = SilenceContext.AWAY
        self.prewarn_at = None

    def shift(self, by: float) -> None:
        """The wall clock stepped: the silence keeps its real length (``HomeDetector``)."""
        self.now += by
        if self.installed is not None:
            self.installed += by
        if self.silence_start is not None:
            self.silence_start += by
        if self.prewarn_at is not None:
            self.prewarn_at += by

    def _context_after(self, event: SensorEvent) -> SilenceContext:
        if self.beds:
            return SilenceContext.BED
        if self.seats:
            return SilenceContext.SEAT
        if event.kind is SensorKind.EXIT_DOOR:
            return SilenceContext.AWAY
        night = _in_hours(
            hour_of_day(event.time), self.config.night_start_h, self.config.night_end_h
        )
        if event.kind is SensorKind.BED and night:
            return SilenceContext.BED
        return SilenceContext.AWAKE

    def _learn(self, start: float, end: float, context: SilenceContext) -> None:
        """Record how long the silence had lasted by the end of each hour it covered."""
        if context is SilenceContext.AWAY or end - start > self.config.history_days * DAY_S:
            return
        hour_start = math.floor(start / HOUR_S) * HOUR_S
        while hour_start < end:
            elapsed = min(end, hour_start + HOUR_S) - start
            key = (math.floor(hour_start / DAY_S), context, hour_of_day(hour_start))
            self.learned[key] = max(self.learned.get(key, 0.0), elapsed)
            hour_start += HOUR_S
        oldest = math.floor(end / DAY_S) - self.config.history_days
        for stale in [key for key in self.learned if key[0] < oldest]:
            del self.learned[stale]

    def limits(self, context: SilenceContext, now: float) -> list[float]:
        """The limit (seconds) for a silence of ``context`` at each hour of day, as of ``now``."""
        cfg = self.config
        usual = [0.0] * 24
        for (_, ctx, hour), elapsed in self.learned.items():
            if ctx is context:
                for shift in range(-cfg.smoothing_h, cfg.smoothing_h + 1):
                    near = (hour + shift) % 24
                    usual[near] = max(usual[near], elapsed)
        pooled = cfg.pool_share(context) * max(usual)
        days = 0.0 if self.installed is None else (now - self.installed) / DAY_S
        fade = 1.0 - max(0.0, days - cfg.learning_days) / cfg.fade_days if cfg.fade_days else 0.0
        weight = 1.0 if days < cfg.learning_days else max(0.0, fade)
        limits = []
        for hour in range(24):
            limit = max(cfg.margin(context) * max(usual[hour], pooled), cfg.floor_s(context))
            limit = max(limit, weight * cfg.default_s(context, hour))
            limits.append(min(limit, cfg.cap_s))
        return limits

    def _prewarn_time(self, start: float, context: SilenceContext) -> float | None:
        """First ``t`` with ``t - start`` at least the limit of ``t``'s hour; None if away."""
        if context is SilenceContext.AWAY:
            return None
        limits = self.limits(context, start)
        hour_start = math.floor(start / HOUR_S) * HOUR_S
        while hour_start < start + self.config.cap_s:
            limit = limits[hour_of_day(hour_start)]
            due = max(hour_start, start + limit)
            if due < hour_start + HOUR_S:
                self.limit_s = limit
                return due
            hour_start += HOUR_S
        self.limit_s = self.config.cap_s
        return start + self.config.cap_s
