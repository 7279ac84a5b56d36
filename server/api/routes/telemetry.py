"""Telemetry for the console's charts: a device's series over a range, last value per device.

The bucket is chosen from the range (`bucket_for`), so a chart of a year asks InfluxDB for a
few hundred means, not every point. Both stores answer the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel

from server.api.deps import CentreDep, Operator, require_role
from server.api.permissions import WatchCentre
from server.telemetry import SeriesQuery, TelemetryQueryError
from server.telemetry.charts import DEFAULT_MAX_POINTS, bucket_for
from server.telemetry.point import FieldValue
from server.telemetry.stats import WriterStats

router = APIRouter(prefix="/telemetry", tags=["telemetry"])
Supervisor = Annotated[Operator, Depends(require_role("supervisor", "admin"))]
Name = Annotated[str, Query(min_length=1, max_length=64)]


class SeriesPointOut(BaseModel):
    time: datetime
    mean: float


class SeriesOut(BaseModel):
    measurement: str
    field: str
    gateway_id: str
    device_id: str | None
    bucket_s: int
    points: list[SeriesPointOut]


class LatestOut(BaseModel):
    gateway_id: str
    device_id: str | None
    time: datetime
    value: FieldValue


def _unavailable(err: TelemetryQueryError) -> HTTPException:
    if err.retryable:
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(err))
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(err))


@router.get("/series")
def series(
    centre: CentreDep,
    _user: WatchCentre,
    gateway_id: Name,
    measurement: Name,
    field: Name,
    start: AwareDatetime,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
    end: AwareDatetime | None = None,
    max_points: Annotated[int, Query(ge=1, le=5000)] = DEFAULT_MAX_POINTS,
) -> SeriesOut:
    """Means of ``field`` per time bucket over ``[start, end)`` (``end``: now)."""
    until = end or datetime.now(UTC)
    if until <= start:
        raise HTTPException(422, detail="end is not after start")
    bucket_s = bucket_for(start, until, max_points)
    query = SeriesQuery(measurement, field, gateway_id, device_id, start, until, bucket_s)
    try:
        points = centre.telemetry_store.series(query)
    except TelemetryQueryError as err:
        raise _unavailable(err) from err
    except ValueError as err:  # a name the embedded store cannot look up
        raise HTTPException(422, detail=str(err)) from err
    return SeriesOut(
        measurement=measurement,
        field=field,
        gateway_id=gateway_id,
        device_id=device_id,
        bucket_s=bucket_s,
        points=[SeriesPointOut(time=p.time, mean=p.mean) for p in points],
    )


@router.get("/latest")
def latest(
    centre: CentreDep,
    _user: WatchCentre,
    measurement: Name,
    field: Name,
    gateway_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[LatestOut]:
    """The last value of ``field`` per device (of one gateway, or all)."""
    try:
        values = centre.telemetry_store.latest(measurement, field, gateway_id)
    except TelemetryQueryError as err:
        raise _unavailable(err) from err
    except ValueError as err:
        raise HTTPException(422, detail=str(err)) from err
    return [
        LatestOut(gateway_id=v.gateway_id, device_id=v.device_id, time=v.time, value=v.value)
        for v in values
    ]


@router.get("/writer")
def writer_stats(centre: CentreDep, _user: Supervisor) -> WriterStats:
    """The telemetry writer's counters: queued, written, dropped by reason, batch latency."""
    return centre.telemetry.stats()
