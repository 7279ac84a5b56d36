"""Running a home detector over a log with extra clock advances mixed in, for the property
that alarms do not depend on how often ``advance`` is called."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from gateway.detect.home_events import HomeAlarm


class _Detector(Protocol):
    def feed(self, event: Any) -> list[HomeAlarm]: ...
    def advance(self, now: float) -> list[HomeAlarm]: ...


def run_with_advances(
    detector: _Detector, events: Iterable[Any], extra: list[float], until: float
) -> list[HomeAlarm]:
    """Feed ``events`` in order, calling ``advance`` at each time in ``extra`` on the way,
    then advance to ``until``; the alarms in the order they came."""
    alarms: list[HomeAlarm] = []
    pending = sorted(extra)
    for event in events:
        while pending and pending[0] <= event.time:
            alarms += detector.advance(pending.pop(0))
        alarms += detector.feed(event)
    for t in pending:
        alarms += detector.advance(t)
    return alarms + detector.advance(until)
