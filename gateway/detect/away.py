"""Away periods: the home is empty (a holiday, a stay with family, a hospital stay).

The centre sets them (``HomeConfigBody.away``, as instants); the gateway turns them into local
seconds (:mod:`gateway.detect.home_events`) and :class:`~gateway.detect.home.HomeMonitor`
applies them to its detectors at their own times, so alarms still do not depend on how often
``advance`` is called.

The policy, as in telecare practice ("activity while away ends away mode"):

- From a period's start, the detectors are told the home is empty
  (``HomeDetector.home_empty``): no inactivity pre-warning or alarm, a night bed-exit spell or
  a wandering watch in progress is dropped, and the silence is not learned as the routine.
  The daily check-in is not expected on a day whose reminder or deadline falls in the period.
- A sign of somebody in the home during the period (:func:`ends_away`: a motion, door, exit
  door, bed or seat sensor becoming active, or a key press) ends it early, at that event: the
  resident came home sooner, and from then on everything is watched again. The detectors take
  the event as usual, so an exit door opened at night with nobody seen inside afterwards is
  ``wandering`` (somebody let themselves into an empty home and is not moving: the resident
  collapsed in the hall, or an intruder; either way the centre calls). The gateway tells the
  centre in an ``away_ended`` event. The early end is part of the state, so a restart or a
  configuration re-sent with the same period does not bring the period back.
- What does not end it moves the clock only: an appliance switching (a lamp timer against
  burglars, a fridge), a sensor becoming inactive (a door contact settling, a mat drifting).
- A period that simply runs out leaves the home as it was: empty until the first activity,
  exactly as after leaving through the exit door, so a resident who comes back a day late is
  not an inactivity alarm. Coming back is activity, and monitoring resumes with it.

Device supervision is not here: devices keep reporting while the home is empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gateway.detect.home_events import HomeAlarm, SensorEvent, SensorKind, format_local

AWAY_ENDED = "away_ended"  # for the centre's record, not an alarm


@dataclass(frozen=True, slots=True)
class AwayPeriod:
    """The home is empty from ``start`` to ``end``, local seconds; ``note`` as the centre
    wrote it (e.g. where the resident is)."""

    start: float
    end: float
    note: str = ""


def ends_away(event: SensorEvent) -> bool:
    """Whether the event shows somebody in the home (module docstring)."""
    return event.value == 1 and event.kind is not SensorKind.APPLIANCE


@dataclass(slots=True)
class AwaySchedule:
    """The home's away periods and what has happened to them; its fields are its state.

    ``entered``: periods whose start the detectors have been told of. ``ended``: periods
    ended early by activity, with when. ``checked``: the time up to which periods were
    looked for."""

    periods: tuple[AwayPeriod, ...] = ()
    entered: set[AwayPeriod] = field(default_factory=set)
    ended: dict[AwayPeriod, float] = field(default_factory=dict)
    checked: float = -math.inf

    def replace(self, periods: tuple[AwayPeriod, ...]) -> None:
        """A new schedule from the centre. A period it still holds keeps what happened to it
        (ended early stays ended); one it dropped or changed is forgotten."""
        self.periods = tuple(sorted(periods, key=lambda p: p.start))
        self.entered &= set(self.periods)
        self.ended = {p: t for p, t in self.ended.items() if p in self.periods}

    def end_of(self, period: AwayPeriod) -> float:
        """When ``period`` ends (or ended, if activity ended it early)."""
        return min(period.end, self.ended.get(period, math.inf))

    def current(self, t: float) -> AwayPeriod | None:
        """The period the home is away in at ``t``, if any."""
        for period in self.periods:
            if period.start <= t < self.end_of(period):
                return period
        return None

    def covers(self, t: float) -> bool:
        return self.current(t) is not None

    def starting_by(self, now: float) -> list[AwayPeriod]:
        """Periods begun by ``now`` and on at some moment since the last look, of which the
        detectors have not been told; in time order. A period received after its start (an
        "away now" a few seconds in flight) is still told, late; one received after its end
        is past."""
        starting = [
            p
            for p in self.periods
            if p not in self.entered and p.start <= now and self.end_of(p) > self.checked
        ]
        self.checked = max(self.checked, now)
        return starting

    def end_early(self, period: AwayPeriod, event: SensorEvent) -> HomeAlarm:
        """Activity during ``period``: it is over, at the event."""
        self.ended[period] = event.time
        detail: dict[str, str | float | int] = {
            "from": format_local(period.start),
            "until": format_local(period.end),
            "ended": format_local(event.time),
            "device": event.device,
            "sensor": str(event.kind),
        }
        return HomeAlarm(AWAY_ENDED, event.time, detail)
