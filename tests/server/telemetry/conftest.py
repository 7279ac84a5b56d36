"""Telemetry fixtures: a real influxd per module (continuous queries on), stores on fresh
databases, and a clock the tests move by hand.

Points are written near the present: InfluxDB refuses points older than the retention policy
("points beyond retention policy"), so fixed dates in the past would not be stored.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from onebox.influx import InfluxServer
from server.telemetry import TelemetryStore
from server.telemetry.embedded import EmbeddedTelemetryStore
from server.telemetry.influx import InfluxTelemetryStore
from server.telemetry.influx_schema import RetentionPlan


class ManualClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path_factory.mktemp("influxd"), continuous_queries=True).start()
    yield server
    server.stop()


@pytest.fixture
def base_time() -> datetime:
    """Two hours ago, on a whole hour: recent enough for the raw policy, bucket-aligned."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=2)


@pytest.fixture
def influx_store(influx: InfluxServer) -> Iterator[InfluxTelemetryStore]:
    store = InfluxTelemetryStore(
        influx.url, f"telemetry_{secrets.token_hex(4)}", retention=RetentionPlan()
    )
    yield store
    store.close()


@pytest.fixture
def embedded_store(tmp_path: Path) -> Iterator[EmbeddedTelemetryStore]:
    store = EmbeddedTelemetryStore(tmp_path / "telemetry.sqlite3")
    yield store
    store.close()


@pytest.fixture(params=["embedded", "influxdb"])
def any_store(request: pytest.FixtureRequest) -> TelemetryStore:
    """Each store in turn: the same test must pass on both."""
    name = "embedded_store" if request.param == "embedded" else "influx_store"
    store: TelemetryStore = request.getfixturevalue(name)
    store.prepare()
    return store
