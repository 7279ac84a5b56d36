"""Telemetry messages as the points the telemetry writer takes: one point, or a batch.

A point is tagged with its ``gateway_id`` and, when there is one, its ``device_id``, and
stamped with the ``gateway_time`` of its reading. The wire model has already refused what the
contract forbids (names by pattern, NaN, times outside UTC's range, all in pydantic-core);
what it allows and no store could keep (a line break in a field name) is refused here, so a
bad reading of a batch is dropped alone and the others go on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from protocol import TelemetryBatchMessage, TelemetryMessage
from protocol.messages import Scalar
from server.telemetry import TelemetryPoint
from server.telemetry.point import check_field_names, to_ns

TelemetryUplink = TelemetryMessage | TelemetryBatchMessage


@dataclass
class Points:
    """The points of one message, and why any of its readings could not be one."""

    points: list[TelemetryPoint] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def points_of(message: TelemetryUplink) -> Points:
    """The message's points; what the wire contract has not already refused is checked here,
    reading by reading: the field names (a line break in one), once per set of names."""
    found = Points()
    gateway_id = message.gateway_id
    # One tag mapping per device, shared by its points (the writer only reads them).
    tags_of: dict[str | None, Mapping[str, str]] = {}
    checked: set[tuple[str, ...]] = set()
    make, points = TelemetryPoint.checked, found.points
    for measurement, device_id, fields, time in _readings(message):
        tags = tags_of.get(device_id)
        if tags is None:
            tags = tags_of[device_id] = _tags(gateway_id, device_id)
        names = tuple(fields)
        if names not in checked:
            try:
                check_field_names(measurement, names)
            except ValueError as err:
                found.refused.append(str(err))
                continue
            checked.add(names)
        points.append(make((measurement, tags, fields, to_ns(time))))
    return found


def _readings(
    message: TelemetryUplink,
) -> Iterator[tuple[str, str | None, Mapping[str, Scalar], datetime]]:
    """(measurement, device, fields, time) of each point the message carries."""
    if isinstance(message, TelemetryMessage):
        body = message.body
        yield body.measurement, message.device_id, body.fields, message.gateway_time
        return
    for reading in message.body.readings:
        yield reading.measurement, reading.device_id, reading.fields, reading.gateway_time


def _tags(gateway_id: str, device_id: str | None) -> dict[str, str]:
    if device_id:
        return {"gateway_id": gateway_id, "device_id": device_id}
    return {"gateway_id": gateway_id}
