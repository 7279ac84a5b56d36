"""What the console's charts ask of a telemetry store, the same for every store.

Two questions: a device's series over a time range, as means over time buckets (the bucket is
chosen from the range so a chart gets a few hundred points, not a million), and the last value
of a field per device. Buckets are aligned to the epoch, as InfluxDB's ``GROUP BY time()``
aligns them, so the embedded store and InfluxDB answer with the same buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.telemetry.point import FieldValue, from_ns, to_ns

# Bucket widths a person reads easily on a time axis, in seconds.
NICE_BUCKETS_S = (
    1,
    5,
    10,
    30,
    60,
    5 * 60,
    15 * 60,
    30 * 60,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    7 * 86_400,
)
DEFAULT_MAX_POINTS = 300


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """A device's field over ``[start, end)``; ``device_id`` None means the gateway's own."""

    measurement: str
    field: str
    gateway_id: str
    device_id: str | None
    start: datetime
    end: datetime
    bucket_s: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("the end of the range must be after its start")
        if self.bucket_s < 1:
            raise ValueError("a bucket is at least one second")

    @property
    def start_ns(self) -> int:
        return to_ns(self.start)

    @property
    def end_ns(self) -> int:
        return to_ns(self.end)


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """The mean of a field over the bucket that starts at ``time``."""

    time: datetime
    mean: float


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The last value of a field reported by one device (or gateway, ``device_id`` None)."""

    gateway_id: str
    device_id: str | None
    time: datetime
    value: FieldValue


def bucket_for(start: datetime, end: datetime, max_points: int = DEFAULT_MAX_POINTS) -> int:
    """The smallest readable bucket (seconds) that keeps the chart within ``max_points``."""
    if max_points < 1:
        raise ValueError("a chart needs at least one point")
    span_s = (to_ns(end) - to_ns(start)) / 1e9
    for bucket in NICE_BUCKETS_S:
        if span_s / bucket <= max_points:
            return bucket
    return NICE_BUCKETS_S[-1]


def bucket_start(time_ns: int, bucket_s: int) -> datetime:
    bucket_ns = bucket_s * 1_000_000_000
    return from_ns(time_ns // bucket_ns * bucket_ns)
