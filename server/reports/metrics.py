"""The numbers of a report, as pure functions of plain facts (no SQL, no clock).

Answer times follow the telecare call-answer targets (97.5-98.5 % within 60 s, 99 % within
180 s): the share is over every alarm in the period, so an alarm nobody acknowledged counts
as missed, not as absent. Percentiles are nearest-rank (always a time that really happened).

Availability is approximated from alarms, since the store keeps no status history: a gateway
is down from its ``gateway_offline`` alarm until that alarm is resolved (or the period ends),
and a device from its ``device_silent`` alarm likewise. A gateway that is down without the
centre noticing (it never connected in the period) is not counted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AlarmFacts:
    kind: str
    received_at: datetime
    acknowledged_at: datetime | None
    on_scene_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class Outage:
    """One episode of a gateway or device being down (``end`` None: still down)."""

    source: str  # gateway id, or gateway id/device id
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class Times:
    count: int  # alarms with a time
    p50_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class AnswerTimes(Times):
    within_60s: float | None  # share of all alarms in the period
    within_180s: float | None


@dataclass(frozen=True)
class Availability:
    sources: int  # how many gateways (or devices with an outage) are counted
    outages: int
    down_s: float
    share_up: float | None  # 1 - down / (sources x period); None without sources


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile, ``q`` in (0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def by_kind(alarms: Sequence[AlarmFacts]) -> dict[str, int]:
    return dict(sorted(Counter(a.kind for a in alarms).items()))


def answer_times(alarms: Sequence[AlarmFacts]) -> AnswerTimes:
    waits = [
        (a.acknowledged_at - a.received_at).total_seconds()
        for a in alarms
        if a.acknowledged_at is not None
    ]
    total = len(alarms)
    return AnswerTimes(
        count=len(waits),
        p50_s=percentile(waits, 50),
        p90_s=percentile(waits, 90),
        within_60s=sum(w <= 60 for w in waits) / total if total else None,
        within_180s=sum(w <= 180 for w in waits) / total if total else None,
    )


def on_scene_times(alarms: Sequence[AlarmFacts]) -> Times:
    waits = [
        (a.on_scene_at - a.received_at).total_seconds() for a in alarms if a.on_scene_at is not None
    ]
    return Times(len(waits), percentile(waits, 50), percentile(waits, 90))


def false_alarm_share(alarms: Sequence[AlarmFacts]) -> float | None:
    """False alarms among the alarms resolved with an outcome."""
    outcomes = [a.outcome for a in alarms if a.outcome is not None]
    return outcomes.count("false_alarm") / len(outcomes) if outcomes else None


def availability(
    outages: Sequence[Outage], sources: int, start: datetime, end: datetime
) -> Availability:
    """Down time of ``outages`` clipped to [start, end), over ``sources`` for the period.

    Overlapping episodes of one source (two offline alarms) are merged, not added twice.
    """
    down = 0.0
    by_source: dict[str, list[tuple[datetime, datetime]]] = {}
    for o in outages:
        lo, hi = max(o.start, start), min(o.end or end, end)
        if hi > lo:
            by_source.setdefault(o.source, []).append((lo, hi))
    for spans in by_source.values():
        spans.sort()
        cur_lo, cur_hi = spans[0]
        for lo, hi in spans[1:]:
            if lo > cur_hi:
                down += (cur_hi - cur_lo).total_seconds()
                cur_lo, cur_hi = lo, hi
            else:
                cur_hi = max(cur_hi, hi)
        down += (cur_hi - cur_lo).total_seconds()
    period = (end - start).total_seconds()
    share = 1 - down / (sources * period) if sources and period > 0 else None
    count = sum(len(s) for s in by_source.values())
    return Availability(sources, count, down, None if share is None else max(0.0, share))
