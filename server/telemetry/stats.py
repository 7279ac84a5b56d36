"""Counters of the telemetry writer, in the shape a Prometheus exporter reads.

Counters only grow; ``queued`` is a gauge; the batch latency is a histogram with fixed upper
bounds (cumulative counts, as Prometheus's ``_bucket{le=...}``), its sum and count.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

# Seconds; covers a fast local write (ms) up to a write that waited out retries.
LATENCY_BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    """``cumulative[i]`` batches took at most ``LATENCY_BOUNDS_S[i]``; ``count`` took any."""

    cumulative: tuple[int, ...]
    count: int
    sum_s: float
    max_s: float


@dataclass(frozen=True, slots=True)
class WriterStats:
    """A consistent snapshot of the telemetry writer.

    ``dropped`` by reason: ``queue_full`` (shed oldest-first under overload), ``rejected``
    (refused by the store: bad points), ``shutdown`` (still unwritten when the server stopped
    and the store unreachable), ``closed`` (offered after shutdown began), ``error`` (a bug).
    """

    queued: int
    accepted: int
    written: int
    dropped: dict[str, int]
    batches: int
    retries: int
    shedding: bool
    batch_latency: LatencyHistogram


@dataclass
class WriterCounters:
    """The mutable side, owned by the writer and changed only under its lock."""

    accepted: int = 0
    written: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    retries: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BOUNDS_S))
    latency_count: int = 0
    latency_sum_s: float = 0.0
    latency_max_s: float = 0.0

    def observe_batch(self, seconds: float) -> None:
        self.batches += 1
        index = bisect.bisect_left(LATENCY_BOUNDS_S, seconds)
        if index < len(self.buckets):
            self.buckets[index] += 1
        self.latency_count += 1
        self.latency_sum_s += seconds
        self.latency_max_s = max(self.latency_max_s, seconds)

    def snapshot(self, queued: int, shedding: bool) -> WriterStats:
        cumulative, running = [], 0
        for count in self.buckets:
            running += count
            cumulative.append(running)
        return WriterStats(
            queued=queued,
            accepted=self.accepted,
            written=self.written,
            dropped=dict(self.dropped),
            batches=self.batches,
            retries=self.retries,
            shedding=shedding,
            batch_latency=LatencyHistogram(
                tuple(cumulative), self.latency_count, self.latency_sum_s, self.latency_max_s
            ),
        )
