"""Telemetry: points from gateways, batched into a store the console's charts read from.

Two stores with one interface (`TelemetryStore`): embedded (SQLite, one machine) and InfluxDB
(a centre, over the v1 HTTP API). Ingest never writes to a store itself: it offers points to a
`BatchingWriter` (`TelemetrySink`), whose thread writes them in batches, so an alarm handled
on the same MQTT thread never waits for a telemetry write.

Exception tree (under ``server.ServerError``)::

    ServerError
     ├── TelemetryWriteError     points were not stored; ``retryable`` says whether to try again
     │    └── TelemetryRejected  the store refused (some of) the points themselves: a 4xx
     └── TelemetryQueryError     a telemetry query failed
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Protocol

from server import ServerError
from server.telemetry.charts import LatestValue, SeriesPoint, SeriesQuery
from server.telemetry.point import TelemetryPoint


class TelemetryWriteError(ServerError):
    """Telemetry points were not stored.

    Retryable (``retryable=True``) when the store could not be reached or answered with a
    server-side failure: keep the points and try again later. ``retryable=False`` when the
    store refused the request itself: the same request fails the same way.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class TelemetryRejected(TelemetryWriteError):
    """The store refused points of a batch (HTTP 4xx); never worth sending unchanged again.

    ``partial``: the store kept the good points of the batch and dropped ``dropped`` (when it
    said how many): InfluxDB 1.x and 3.x do that. ``splittable``: the whole batch was refused
    because of what is in it (2.x refuses a batch for one bad line; a batch can be too large),
    so halves of it may go through.
    """

    def __init__(
        self,
        message: str,
        *,
        partial: bool = False,
        splittable: bool = False,
        dropped: int | None = None,
    ) -> None:
        super().__init__(message, retryable=False)
        self.partial = partial
        self.splittable = splittable
        self.dropped = dropped


class TelemetryQueryError(ServerError):
    """The store could not be reached (``retryable``), or refused or failed a query."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Admission(Enum):
    """What became of a point offered to the writer."""

    QUEUED = "queued"
    # Queued, but the queue was full: the oldest queued point was dropped to make room.
    DISPLACED_OLDEST = "displaced_oldest"
    # Not queued: the writer is shutting down.
    REFUSED = "refused"


class TelemetrySink(Protocol):
    """Where ingest hands telemetry: never blocks, never raises for a full queue."""

    def offer(self, point: TelemetryPoint) -> Admission: ...

    def offer_many(self, points: Sequence[TelemetryPoint]) -> Counter[Admission]:
        """Points of one message, under one lock; counts per `Admission`."""


class TelemetryStore(Protocol):
    """A store the batching writer writes to and the console's charts read from."""

    def prepare(self) -> None:
        """Make the store ready (database, retention); idempotent; may raise a retryable
        `TelemetryWriteError` when the store is unreachable."""

    def encode(self, points: Sequence[TelemetryPoint]) -> bytes | None:
        """``points`` as `write_batch` would send them, made ahead (the writer encodes the
        next batch while the store takes the last); None when there is nothing to make."""

    def write_batch(
        self,
        points: Sequence[TelemetryPoint],
        encoded: bytes | None = None,
        sent: Callable[[], object] | None = None,
    ) -> None:
        """Store ``points``; ``encoded``, when given, is `encode`'s result for them.

        ``sent``, when given, is called once the request has gone out whole and the store only
        waits for the answer: the writer encodes the next batch from then on, not while this
        one is still being sent (both want the interpreter). A store calls it on the thread that
        called this, maybe more than once (a retry) or never (the writer then encodes once the
        write has returned)."""

    def housekeep(self) -> None:
        """Periodic upkeep the store does not do itself (e.g. pruning old points)."""

    def series(self, query: SeriesQuery) -> list[SeriesPoint]: ...

    def latest(
        self, measurement: str, field: str, gateway_id: str | None = None
    ) -> list[LatestValue]: ...

    def close(self) -> None: ...


_DROPPED = re.compile(r"dropped=(\d+)")


def dropped_count(message: str) -> int | None:
    """How many points a partial-write message says were dropped (1.x: ``dropped=N``)."""
    counts = [int(n) for n in _DROPPED.findall(message)]
    return sum(counts) if counts else None


__all__ = [
    "Admission",
    "LatestValue",
    "SeriesPoint",
    "SeriesQuery",
    "TelemetryPoint",
    "TelemetryQueryError",
    "TelemetryRejected",
    "TelemetrySink",
    "TelemetryStore",
    "TelemetryWriteError",
    "dropped_count",
]
