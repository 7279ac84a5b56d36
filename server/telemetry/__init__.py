"""Telemetry stores: embedded (SQLite, one machine) and InfluxDB (a centre)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class TelemetryStore(Protocol):
    def write(
        self,
        measurement: str,
        tags: dict[str, str],
        fields: dict[str, float | int | bool | str],
        time: datetime,
    ) -> None: ...

    def close(self) -> None: ...
