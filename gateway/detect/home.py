"""One home's activity monitoring: every home detector over the same sensor events.

:class:`HomeMonitor` is itself a :class:`~gateway.detect.home_events.HomeDetector`: ``feed``
and ``advance`` pass the call to each detector and return all their alarms in time order (a
tie keeps the detectors' order). Its state is its detectors' states.

The default detectors, for a home that starts knowing nothing and a resident with the default
profile: unusual inactivity, out of bed too long at night, and leaving home at night. The
night detectors share one :class:`~gateway.detect.night.NightConfig` (one resident), and an
absence through the exit door at night is only wandering's to report (see
:mod:`gateway.detect.night`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.detect.away import AwaySchedule, ends_away
from gateway.detect.home_events import ActivityDetector, HomeAlarm, SensorEvent
from gateway.detect.inactivity import InactivityDetector
from gateway.detect.night import NightBedExitDetector, NightConfig, WanderingDetector


def default_detectors(night: NightConfig | None = None) -> list[ActivityDetector]:
    """Fresh default detectors; ``night`` sets the resident's night profile (e.g. dementia)."""
    night = night if night is not None else NightConfig()
    return [
        InactivityDetector(),
        NightBedExitDetector(night),
        WanderingDetector(night),
    ]


@dataclass(slots=True)
class HomeMonitor:
    """All of one home's detectors, fed the same events; alarms merged in time order.
    ``away`` says when the home is empty (:mod:`gateway.detect.away`): the detectors are told
    at each period's start, and an event during a period is either activity that ends it
    (an ``away_ended`` output, then the event as usual) or only moves the clock."""

    detectors: Sequence[ActivityDetector] = field(default_factory=default_detectors)
    away: AwaySchedule = field(default_factory=AwaySchedule)

    def feed(self, event: SensorEvent) -> list[HomeAlarm]:
        alarms = self._enter_away(event.time)
        period = self.away.current(event.time)
        if period is not None:
            if not ends_away(event):
                return alarms + _in_time_order([d.advance(event.time) for d in self.detectors])
            alarms.append(self.away.end_early(period, event))
        return alarms + _in_time_order([d.feed(event) for d in self.detectors])

    def advance(self, now: float) -> list[HomeAlarm]:
        alarms = self._enter_away(now)
        return alarms + _in_time_order([d.advance(now) for d in self.detectors])

    def shift(self, by: float) -> None:
        """The wall clock stepped (``HomeDetector.shift``). Away periods are instants the
        centre set, so they stay where they are."""
        for detector in self.detectors:
            detector.shift(by)

    def _enter_away(self, now: float) -> list[HomeAlarm]:
        """Tell the detectors of the away periods begun by ``now``, each at its start (what
        fell due before it is raised first)."""
        alarms: list[HomeAlarm] = []
        for period in self.away.starting_by(now):
            alarms += _in_time_order([d.advance(period.start) for d in self.detectors])
            for detector in self.detectors:
                detector.home_empty(period.start)
            self.away.entered.add(period)
        return alarms


def _in_time_order(per_detector: list[list[HomeAlarm]]) -> list[HomeAlarm]:
    alarms = [alarm for alarms in per_detector for alarm in alarms]
    return sorted(alarms, key=lambda alarm: alarm.time)  # stable: detector order on ties
