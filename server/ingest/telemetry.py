"""Telemetry messages as the points the telemetry writer takes: one point, or a batch.

A point is tagged with its ``gateway_id`` and, when there is one, its ``device_id``, and
stamped with the ``gateway_time`` of its reading. The wire model has already refused what the
contract forbids (names by pattern, NaN, times outside UTC's range, all in pydantic-core);
what it allows and no store could keep (a line break in a field name, a time outside the
years 1677-2262) is refused here, so a bad reading of a batch is dropped alone (a bad series
as a whole) and the others go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from protocol import (
    TelemetryBatchMessage,
    TelemetryMessage,
    TelemetrySeries,
    TelemetrySeriesMessage,
)
from protocol.messages import Scalar
from server.telemetry import TelemetryPoint
from server.telemetry.columns import PointChunks, PointColumns
from server.telemetry.point import check_field_names, to_ns

TelemetryUplink = TelemetryMessage | TelemetryBatchMessage | TelemetrySeriesMessage
# (measurement, device, fields, time) of one reading.
_Reading = tuple[str, str | None, Mapping[str, Scalar], datetime]
# A point's time as InfluxDB (and the embedded store's SQLite integer) keeps it: a signed
# 64-bit count of nanoseconds. The wire allows years 1-9999; a time outside this is refused
# here, alone, before it can fail a whole batch at the store.
_FIRST_NS, _LAST_NS = -(2**63), 2**63 - 1


@dataclass
class Points:
    """The points of one message, and how many of its readings could not be points (and
    why the first could not)."""

    points: Sequence[TelemetryPoint] = ()
    refused: int = 0
    why_refused: str | None = None

    def refuse(self, count: int, why: str) -> None:
        self.refused += count
        self.why_refused = self.why_refused or why


def points_of(message: TelemetryUplink) -> Points:
    """The message's points; what the wire contract has not already refused is checked here,
    reading by reading: the field names (a line break in one), once per set of names. A
    series stays columns (`PointColumns`): checked once, as one."""
    if isinstance(message, TelemetryMessage):
        body = message.body
        return _points(
            message.gateway_id,
            [(body.measurement, message.device_id, body.fields, message.gateway_time)],
            (),
        )
    if isinstance(message, TelemetrySeriesMessage):
        return _points(message.gateway_id, [], message.body.series)
    return _points(
        message.gateway_id,
        [(r.measurement, r.device_id, r.fields, r.gateway_time) for r in message.body.readings],
        (),
    )


def _points(gateway_id: str, readings: list[_Reading], series: Sequence[TelemetrySeries]) -> Points:
    found = Points()
    # One tag mapping per device, shared by its points (the writer only reads them).
    tags_of: dict[str | None, Mapping[str, str]] = {}
    checked: set[tuple[str, ...]] = set()
    make, points = TelemetryPoint.checked, []

    def tags_for(device_id: str | None) -> Mapping[str, str]:
        tags = tags_of[device_id] = _tags(gateway_id, device_id)
        return tags

    for measurement, device_id, fields, time in readings:
        tags = tags_of.get(device_id) or tags_for(device_id)  # never empty: a gateway_id
        names = tuple(fields)
        if names not in checked:
            try:
                check_field_names(measurement, names)
            except ValueError as err:
                found.refuse(1, str(err))
                continue
            checked.add(names)
        time_ns = to_ns(time)
        if not _FIRST_NS <= time_ns <= _LAST_NS:
            found.refuse(1, _out_of_range(measurement))
            continue
        points.append(make((measurement, tags, fields, time_ns)))
    chunks: list[Sequence[TelemetryPoint]] = [points]
    for one in series:
        try:
            check_field_names(one.measurement, tuple(one.fields))
        except ValueError as err:
            found.refuse(len(one.gateway_times_us), str(err))
            continue
        times_ns = [time_us * 1000 for time_us in one.gateway_times_us]
        if min(times_ns) < _FIRST_NS or max(times_ns) > _LAST_NS:
            found.refuse(len(times_ns), _out_of_range(one.measurement))
            continue
        tags = tags_of.get(one.device_id) or tags_for(one.device_id)
        chunks.append(PointColumns(one.measurement, tags, one.fields, times_ns))
    found.points = PointChunks(chunks)
    return found


def _out_of_range(measurement: str) -> str:
    return (
        f"a time of {measurement!r} outside 1677-09-21..2262-04-11, "
        "the nanoseconds a telemetry store keeps"
    )


def _tags(gateway_id: str, device_id: str | None) -> dict[str, str]:
    if device_id:
        return {"gateway_id": gateway_id, "device_id": device_id}
    return {"gateway_id": gateway_id}
