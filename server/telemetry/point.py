"""One telemetry point, checked once where it enters the server, and its line protocol.

A point is validated when it is made (in the ingest thread), so a value no store could keep
faithfully is refused there with a clear error, and the writer thread that batches points
later never meets a point it cannot write.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

FieldValue = float | int | bool | str

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ns(time: datetime) -> int:
    """Nanoseconds since the epoch, exactly (``timestamp() * 1e9`` loses microseconds)."""
    if time.tzinfo is None:
        # Point would read a naive time as UTC, SQLite as local time: refuse it.
        raise ValueError(f"telemetry time must be timezone-aware, got {time.isoformat()}")
    return (time - _EPOCH) // timedelta(microseconds=1) * 1000


def from_ns(time_ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=time_ns // 1000)


@dataclass(frozen=True, slots=True)
class TelemetryPoint:
    """A measurement at one time: the InfluxDB shape, which the embedded store keeps too.

    Raises `ValueError` for a point InfluxDB would refuse or silently change: a naive time,
    no fields, a NaN or infinite float (Point drops those fields without a word), a line break
    in a name or tag value (line protocol has no escape for it in keys: Point writes ``\\n``
    and InfluxDB stores a backslash and an ``n``).
    """

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time_ns: int

    def __post_init__(self) -> None:
        # Checked on every point ingest makes, so as one string rather than name by name.
        names = "".join((self.measurement, *self.tags, *self.tags.values(), *self.fields))
        if "\n" in names or "\r" in names:
            raise ValueError(f"a line break in a name or tag of {self.measurement!r}")
        if not self.fields:
            raise ValueError(f"point for {self.measurement!r} has no fields; InfluxDB needs one")
        for key, value in self.fields.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"field {key!r} is {value}: InfluxDB stores only finite floats")

    @classmethod
    def at(
        cls,
        measurement: str,
        tags: Mapping[str, str],
        fields: Mapping[str, FieldValue],
        time: datetime,
    ) -> TelemetryPoint:
        return cls(measurement, tags, fields, to_ns(time))

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
