"""Telemetry stores: embedded (SQLite, one machine) and InfluxDB (a centre)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from server import ServerError


class TelemetryWriteError(ServerError):
    """A telemetry point was not stored.

    Retryable (``retryable=True``) when InfluxDB could not be reached or answered with a
    server-side failure: keep the point and try again later. ``retryable=False`` when InfluxDB
    refused the point itself (e.g. ``field type conflict``) or the credentials: retrying the
    same request fails the same way, so log it and drop the point.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class TelemetryQueryError(ServerError):
    """InfluxDB could not be reached, or refused or failed an InfluxQL query."""


class TelemetryStore(Protocol):
    def write(
        self,
        measurement: str,
        tags: dict[str, str],
        fields: dict[str, float | int | bool | str],
        time: datetime,
    ) -> None: ...

    def close(self) -> None: ...
