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

from gateway.detect.home_events import HomeAlarm, HomeDetector, SensorEvent
from gateway.detect.inactivity import InactivityDetector
from gateway.detect.night import NightBedExitDetector, NightConfig, WanderingDetector


def default_detectors(night: NightConfig | None = None) -> list[HomeDetector]:
    """Fresh default detectors; ``night`` sets the resident's night profile (e.g. dementia)."""
    night = night if night is not None else NightConfig()
    return [
        InactivityDetector(),
        NightBedExitDetector(night),
        WanderingDetector(night),
    ]


@dataclass(slots=True)
class HomeMonitor:
    """All of one home's detectors, fed the same events; alarms merged in time order."""

    detectors: Sequence[HomeDetector] = field(default_factory=default_detectors)

    def feed(self, event: SensorEvent) -> list[HomeAlarm]:
        return _in_time_order([d.feed(event) for d in self.detectors])

    def advance(self, now: float) -> list[HomeAlarm]:
        return _in_time_order([d.advance(now) for d in self.detectors])


def _in_time_order(per_detector: list[list[HomeAlarm]]) -> list[HomeAlarm]:
    alarms = [alarm for alarms in per_detector for alarm in alarms]
    return sorted(alarms, key=lambda alarm: alarm.time)  # stable: detector order on ties
