"""One telemetry point, checked once where it enters the server, and its line protocol.

A point is validated when it is made (in the ingest thread), so a value no store could keep
faithfully is refused there with a clear error, and the writer thread that batches points
later never meets a point it cannot write.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from protocol.messages import epoch_micros

FieldValue = float | int | bool | str

# (measurement, tags, fields, time_ns), as `TelemetryPoint.checked` takes them.
PointValues = tuple[str, Mapping[str, str], Mapping[str, FieldValue], int]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_new_tuple = tuple.__new__


def to_ns(time: datetime) -> int:
    """Nanoseconds since the epoch, exactly (``timestamp() * 1e9`` loses microseconds)."""
    if time.tzinfo is None:
        # Point would read a naive time as UTC, SQLite as local time: refuse it.
        raise ValueError(f"telemetry time must be timezone-aware, got {time.isoformat()}")
    return epoch_micros(time) * 1000


def from_ns(time_ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=time_ns // 1000)


class _PointFields(NamedTuple):
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time_ns: int


class TelemetryPoint(_PointFields):
    """A measurement at one time: the InfluxDB shape, which the embedded store keeps too.

    Raises `ValueError` for a point InfluxDB would refuse or silently change: a naive time,
    no fields, a NaN or infinite float (Point drops those fields without a word), a line break
    in a name or tag value (line protocol has no escape for it in keys: Point writes ``\\n``
    and InfluxDB stores a backslash and an ``n``).

    A named tuple, not a dataclass: ingest makes one per reading, and a tuple is made in a
    tenth of the time; `checked` is for readings the wire model has already held to all of
    the above but field names.
    """

    __slots__ = ()

    def __new__(
        cls,
        measurement: str,
        tags: Mapping[str, str],
        fields: Mapping[str, FieldValue],
        time_ns: int,
    ) -> TelemetryPoint:
        _check(measurement, tags, fields)
        return _new_tuple(cls, (measurement, tags, fields, time_ns))

    @classmethod
    def at(
        cls,
        measurement: str,
        tags: Mapping[str, str],
        fields: Mapping[str, FieldValue],
        time: datetime,
    ) -> TelemetryPoint:
        return cls(measurement, tags, fields, to_ns(time))

    @classmethod
    def checked(cls, values: PointValues) -> TelemetryPoint:
        """A point whose checks the caller has made (`check_field_names` and the wire
        contract's patterns, field counts and finite floats): no second pass per reading."""
        return _new_tuple(cls, values)

    def line_protocol(self) -> str:
        """Escaping of names, tag values and strings is influxdb-client's, maintained upstream.

        Python ``int`` becomes an InfluxDB integer (``42i``), ``bool`` a boolean, ``float`` a
        float and ``str`` a string, so a field keeps the type the device reported.
        """
        # from_dict rather than Point(...).tag(...): Point's own methods carry no annotations.
        point = Point.from_dict(
            {"measurement": self.measurement, "tags": self.tags, "fields": self.fields}
        )
        line: str = point.time(self.time_ns, WritePrecision.NS).to_line_protocol()
        return line


def _check(measurement: str, tags: Mapping[str, str], fields: Mapping[str, FieldValue]) -> None:
    # Checked on every point made, so as one string rather than name by name.
    names = "".join((measurement, *tags, *tags.values(), *fields))
    if "\n" in names or "\r" in names:
        raise ValueError(f"a line break in a name or tag of {measurement!r}")
    if not fields:
        raise ValueError(f"point for {measurement!r} has no fields; InfluxDB needs one")
    for key, value in fields.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"field {key!r} is {value}: InfluxDB stores only finite floats")


def check_field_names(measurement: str, names: tuple[str, ...]) -> None:
    """Raise `ValueError` for a line break in a field name (the wire contract allows any
    name; line protocol cannot escape it)."""
    joined = "".join(names)
    if "\n" in joined or "\r" in joined:
        raise ValueError(f"a line break in a field name of {measurement!r}")
