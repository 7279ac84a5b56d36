"""Daily check-in: the resident presses "I'm OK" by a set time each day, or the centre hears.

The rule, per watched day (local time, :mod:`gateway.detect.home_events` seconds read as UTC):

- A :class:`CheckinPressed` from 00:00 of the day up to the alarm is that day's check-in. An
  early riser pressing at 07:00 hears nothing more that day.
- At ``due - reminder_before_s`` (09:30 by default) with no check-in yet:
  ``checkin_reminder`` with ``detail["to"] == "resident"``. The live gateway turns it into a
  prompt on the button device; it is not for the centre.
- At ``due + grace_s`` (10:15 by default) with still no check-in: ``missed_checkin`` for the
  centre, ``detail["due"]`` the due time as ``HH:MM``.
- A press after the alarm (or at its very second: the clock reaches the deadline before the
  event is taken, as in every :class:`~gateway.detect.home_events.HomeDetector`) is not
  dropped: it raises ``checkin_late`` once, at the press, with ``detail`` ``due``,
  ``pressed`` (local ``YYYY-MM-DD HH:MM:SS``), ``device`` and ``to == "centre"``. The centre
  is already calling; a late "I'm OK" tells the operator who answers the resident is fine
  and how late they were, which is worth more than silence. Whether it cancels the call is
  the centre's decision, not the detector's.

**Only a press counts.** :class:`SensorEvent`\\ s are accepted (the detector sits in the same
stream as the activity detectors) but only move the clock. Activity is not consent: the
check-in exists because a press is an explicit "I'm OK", which motion in the kitchen is not
(a resident who fell in the kitchen keeps the PIR busy, and unusual inactivity is
:mod:`gateway.detect.inactivity`'s job anyway).

**Which days.** Days whose weekday (Monday 0) is not in ``days``, or whose date is in
``skip_dates`` (holidays, away days), are not watched: no reminder, no alarm, and a press
that day raises nothing. A day is also unwatched if the watch began after that day's reminder
time (``DailyCheckin.start``; the first call sets it when left ``None``): every
``missed_checkin`` is preceded by a reminder the same day, so a gateway installed at 09:45
does not call the centre at 10:15 about a resident who was never asked.

**Clock.** As :class:`~gateway.detect.home_events.HomeDetector`: ``feed`` first advances the
clock to the event, ``advance`` only moves it, a deadline is raised at its own time, and each
day is walked in turn, so a month of ``advance`` in one call gives one reminder and one alarm
per unanswered day, and extra ``advance`` calls change nothing. A clock moving backwards is
ignored. Daylight-saving shifts are not handled here: the caller gives local times (seconds
read as UTC), so every day is 24 h long and the caller's conversion decides where the hour
skipped or repeated on the night clocks change goes.

Errors: :class:`CheckinConfigError` (a ``ValueError``) for an unusable configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as time_of_day

from gateway.detect.home_events import HomeAlarm, SensorEvent, format_local

DAY_S = 86400.0
MIN_S = 60.0
ALL_DAYS = frozenset(range(7))

REMINDER = "checkin_reminder"
MISSED = "missed_checkin"
LATE = "checkin_late"


class CheckinConfigError(ValueError):
    """A check-in configuration that cannot work; the message says which parameter."""


@dataclass(frozen=True, slots=True)
class CheckinPressed:
    """The resident pressed "I'm OK". ``time`` in local seconds, as ``SensorEvent.time``."""

    time: float
    device: str


@dataclass(frozen=True, slots=True)
class CheckinConfig:
    """One resident's daily check-in.

    Parameters
    ----------
    due
        Local time of day by which the resident should have pressed (naive, no tzinfo).
    reminder_before_s
        Seconds before ``due`` the reminder goes to the resident; > 0, and the reminder must
        fall on the same day (not before 00:00).
    grace_s
        Seconds after ``due`` before the centre is alarmed; >= 0, and the alarm must fall
        before midnight (a press after midnight belongs to the next day).
    days
        Weekdays watched, Monday 0 ... Sunday 6.
    skip_dates
        Dates not watched, as ``YYYY-MM-DD`` (holidays, away days).
    """

    due: time_of_day = time_of_day(10, 0)
    reminder_before_s: float = 30 * MIN_S
    grace_s: float = 15 * MIN_S
    days: frozenset[int] = ALL_DAYS
    skip_dates: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.due.tzinfo is not None:
            raise CheckinConfigError("due: a local time of day, without tzinfo")
        if not self.reminder_before_s > 0:
            raise CheckinConfigError("reminder_before_s: the reminder must be before due")
        if self.reminder_before_s > self.due_s:
            raise CheckinConfigError("reminder_before_s: the reminder must not be before 00:00")
        if not self.grace_s >= 0:
            raise CheckinConfigError("grace_s: must be >= 0")
        if self.due_s + self.grace_s >= DAY_S:
            raise CheckinConfigError("grace_s: the alarm must fall before midnight")
        if not self.days or not self.days <= ALL_DAYS:
            raise CheckinConfigError("days: weekdays 0 (Monday) to 6, at least one")
        for text in self.skip_dates:
            try:
                valid = date.fromisoformat(text).isoformat() == text
            except (TypeError, ValueError) as err:
                raise CheckinConfigError(f"skip_dates: {text!r} is not YYYY-MM-DD") from err
            if not valid:
                raise CheckinConfigError(f"skip_dates: {text!r} is not YYYY-MM-DD")

    @property
    def due_s(self) -> float:
        """``due`` as seconds after local midnight."""
        due = self.due
        return due.hour * 3600.0 + due.minute * 60.0 + due.second + due.microsecond / 1e6

    @property
    def due_text(self) -> str:
        return self.due.strftime("%H:%M")

    def applies(self, midnight: float) -> bool:
        """Whether the day starting at local ``midnight`` is watched (weekday and date)."""
        day = datetime.fromtimestamp(midnight, UTC).date()
        return day.weekday() in self.days and day.isoformat() not in self.skip_dates


@dataclass(slots=True)
class DailyCheckin:
    """The daily check-in of one resident (module docstring). Its state is its attributes.

    ``feed`` takes ``SensorEvent | CheckinPressed``, wider than
    :class:`~gateway.detect.home_events.HomeDetector` asks, so it is one.
    """

    config: CheckinConfig = field(default_factory=CheckinConfig)
    start: float | None = None  # the watch began; the first call sets it if left None
    now: float = -math.inf
    day: float = -math.inf  # local midnight of the day the fields below describe
    watched: bool = False  # the day applies and the watch began by its reminder
    pressed: float | None = None  # the day's first press
    reminded: bool = False
    missed: bool = False  # missed_checkin raised

    def feed(self, event: SensorEvent | CheckinPressed) -> list[HomeAlarm]:
        alarms = self.advance(event.time)
        if isinstance(event, CheckinPressed):
            alarms += self._press(event)
        return alarms

    def advance(self, now: float) -> list[HomeAlarm]:
        if now < self.now:
            return []
        if self.start is None:
            self.start = now
        if self.day == -math.inf:
            self._begin_day(_midnight(now))
        self.now = now
        alarms = self._deadlines(now)
        while now >= self.day + DAY_S:
            self._begin_day(self.day + DAY_S)
            alarms += self._deadlines(now)
        return alarms

    def shift(self, by: float) -> None:
        """The wall clock stepped: after a step back the clock goes on from the new time
        instead of waiting for the old one. Deadlines are times of day and stay; one already
        raised is not raised again on the same day."""
        self.now += by

    def _begin_day(self, midnight: float) -> None:
        assert self.start is not None
        reminder = midnight + self.config.due_s - self.config.reminder_before_s
        self.day = midnight
        self.watched = self.config.applies(midnight) and self.start <= reminder
        self.pressed = None
        self.reminded = self.missed = False

    def _deadlines(self, now: float) -> list[HomeAlarm]:
        """The current day's reminder and alarm that fall due by ``now``, each once."""
        if not self.watched or self.pressed is not None:
            return []
        config = self.config
        due = self.day + config.due_s
        alarms: list[HomeAlarm] = []
        reminder = due - config.reminder_before_s
        if not self.reminded and reminder <= now:
            self.reminded = True
            detail: dict[str, str | float | int] = {"to": "resident", "due": config.due_text}
            alarms.append(HomeAlarm(REMINDER, reminder, detail))
        if not self.missed and due + config.grace_s <= now:
            self.missed = True
            alarms.append(HomeAlarm(MISSED, due + config.grace_s, {"due": config.due_text}))
        return alarms

    def _press(self, event: CheckinPressed) -> list[HomeAlarm]:
        # A press that arrives late from an earlier day (clock already past it) is too late
        # to matter for that day and is not this day's check-in.
        if _midnight(event.time) != self.day or self.pressed is not None:
            return []
        self.pressed = event.time
        if not self.missed:
            return []
        detail: dict[str, str | float | int] = {
            "to": "centre",
            "due": self.config.due_text,
            "pressed": format_local(event.time),
            "device": event.device,
        }
        return [HomeAlarm(LATE, self.now, detail)]


def _midnight(t: float) -> float:
    return math.floor(t / DAY_S) * DAY_S
