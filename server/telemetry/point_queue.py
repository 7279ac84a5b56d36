"""The telemetry writer's queue: points in arrival order, kept as the chunks they came in.

Why chunks: ingest offers a message's points together (up to 1000 of a ``telemetry_batch``)
and the writer takes thousands at a time, so a queue entry per point cost a tuple, an append
and a pop per point, about a tenth of the server's work per point. A chunk is one entry with
the time it arrived; the oldest points are still displaced one by one, and a batch still ends
at any point inside a chunk. A batch is taken as the chunks it spans (`PointChunks`), so a
series queued as columns reaches the store as columns.

Not thread-safe on its own: `BatchingWriter` holds its lock around every call.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from server.telemetry.columns import PointChunks
from server.telemetry.point import TelemetryPoint


class PointQueue:
    """First in, first out; ``len`` is the number of points, not of chunks."""

    def __init__(self) -> None:
        # (arrival time, points): the first chunk's list may be a tail of what was offered.
        self._chunks: deque[tuple[float, Sequence[TelemetryPoint]]] = deque()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def oldest_arrival(self) -> float | None:
        """When the oldest queued point arrived; None when empty."""
        return self._chunks[0][0] if self._chunks else None

    def extend(self, points: Sequence[TelemetryPoint], now: float) -> None:
        """Queue ``points`` (not copied: the caller hands them over), arrived at ``now``."""
        if points:
            self._chunks.append((now, points))
            self._count += len(points)

    def drop_oldest(self, count: int) -> int:
        """Drop up to ``count`` of the oldest points; how many were dropped."""
        dropped = 0
        while dropped < count and self._chunks:
            arrived, chunk = self._chunks[0]
            wanted = count - dropped
            if len(chunk) <= wanted:
                self._chunks.popleft()
                dropped += len(chunk)
            else:
                self._chunks[0] = (arrived, chunk[wanted:])
                dropped += wanted
        self._count -= dropped
        return dropped

    def take(self, count: int) -> PointChunks:
        """Remove and return up to ``count`` of the oldest points, in order, as the chunks
        (or parts of them) they were queued in: no point is copied or made."""
        taken: list[Sequence[TelemetryPoint]] = []
        size = 0
        while size < count and self._chunks:
            arrived, chunk = self._chunks[0]
            wanted = count - size
            if len(chunk) <= wanted:
                self._chunks.popleft()
                taken.append(chunk)
                size += len(chunk)
            else:
                taken.append(chunk[:wanted])
                self._chunks[0] = (arrived, chunk[wanted:])
                size += wanted
        self._count -= size
        return PointChunks(taken)

    def clear(self) -> int:
        """Drop every point; how many there were."""
        count = self._count
        self._chunks.clear()
        self._count = 0
        return count
