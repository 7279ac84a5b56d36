"""Points kept as columns, and a batch of such chunks: sequences of `TelemetryPoint` that
make no point until one is asked for.

Why: a series of a ``telemetry_series`` message arrives as columns (a list of values per
field, a list of times), and InfluxDB wants lines, which `LineProtocolEncoder` makes from
columns in a few passes. Made into a point object per reading in between, the same readings
cost the server several times as much (a tuple and a dict each, then taken apart again). So
a series stays `PointColumns` from ingest to the store; what reads points one by one (the
embedded store, a refused batch split in halves) still sees `TelemetryPoint`s.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import overload

from server.telemetry.point import FieldValue, TelemetryPoint

_new_point = TelemetryPoint.checked


class PointColumns(Sequence[TelemetryPoint]):
    """The points of one series (measurement and tags): ``times_ns[i]`` with the ``i``-th
    value of every column. Checked by the caller as `TelemetryPoint.checked` points are.

    Immutable; a slice shares nothing it could change.
    """

    __slots__ = ("columns", "measurement", "tags", "times_ns")

    def __init__(
        self,
        measurement: str,
        tags: Mapping[str, str],
        columns: Mapping[str, Sequence[FieldValue]],
        times_ns: Sequence[int],
    ) -> None:
        self.measurement = measurement
        self.tags = tags
        self.columns = columns
        self.times_ns = times_ns

    def __len__(self) -> int:
        return len(self.times_ns)

    @overload
    def __getitem__(self, index: int) -> TelemetryPoint: ...

    @overload
    def __getitem__(self, index: slice) -> PointColumns: ...

    def __getitem__(self, index: int | slice) -> TelemetryPoint | PointColumns:
        if isinstance(index, slice):
            columns = {name: values[index] for name, values in self.columns.items()}
            return PointColumns(self.measurement, self.tags, columns, self.times_ns[index])
        time_ns = self.times_ns[index]  # IndexError here, before the columns are read
        fields = {name: values[index] for name, values in self.columns.items()}
        return _new_point((self.measurement, self.tags, fields, time_ns))

    def __iter__(self) -> Iterator[TelemetryPoint]:
        names = tuple(self.columns)
        measurement, tags = self.measurement, self.tags
        rows = zip(*self.columns.values(), strict=True)
        for values, time_ns in zip(rows, self.times_ns, strict=True):
            yield _new_point((measurement, tags, dict(zip(names, values, strict=True)), time_ns))


Chunk = Sequence[TelemetryPoint]  # a list of points or `PointColumns`


class PointChunks(Sequence[TelemetryPoint]):
    """Chunks (lists of points, `PointColumns`) one after the other, as one sequence: what a
    message offers and what the writer takes, without copying a point."""

    __slots__ = ("_length", "chunks")

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        # A PointChunks inside is opened up: one level, so the encoder sees every chunk.
        flat: list[Chunk] = []
        for chunk in chunks:
            if isinstance(chunk, PointChunks):
                flat += chunk.chunks
            elif chunk:
                flat.append(chunk)
        self.chunks: tuple[Chunk, ...] = tuple(flat)
        self._length = sum(len(chunk) for chunk in flat)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> TelemetryPoint: ...

    @overload
    def __getitem__(self, index: slice) -> PointChunks: ...

    def __getitem__(self, index: int | slice) -> TelemetryPoint | PointChunks:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)
            if step != 1:
                return PointChunks([list(self)[index]])
            return PointChunks(self._between(start, stop))
        if index < 0:
            index += self._length
        for chunk in self.chunks:
            if 0 <= index < len(chunk):
                return chunk[index]
            index -= len(chunk)
        raise IndexError("point index out of range")

    def __iter__(self) -> Iterator[TelemetryPoint]:
        return itertools.chain.from_iterable(self.chunks)

    def _between(self, start: int, stop: int) -> list[Chunk]:
        """The chunks' parts from point ``start`` up to ``stop``."""
        parts: list[Chunk] = []
        offset = 0
        for chunk in self.chunks:
            size = len(chunk)
            low, high = max(start - offset, 0), min(stop - offset, size)
            if low < high:
                parts.append(chunk if (low, high) == (0, size) else chunk[low:high])
            offset += size
        return parts
