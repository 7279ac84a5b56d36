"""The telemetry store and writer a centre runs, built from its settings."""

from __future__ import annotations

from server.core.config import ServerSettings
from server.telemetry import TelemetryStore
from server.telemetry.batching import BatchingWriter, BatchPolicy
from server.telemetry.embedded import EmbeddedTelemetryStore
from server.telemetry.influx import InfluxTelemetryStore
from server.telemetry.influx_schema import RetentionPlan


def open_store(settings: ServerSettings) -> TelemetryStore:
    """InfluxDB or the embedded SQLite file; neither is contacted yet."""
    if settings.telemetry_backend == "influxdb":
        plan = RetentionPlan(
            raw_days=settings.telemetry_retention_days,
            rollup_interval_s=settings.telemetry_rollup_interval_s,
            rollup_days=settings.telemetry_rollup_retention_days,
        )
        password, token = settings.influx_password, settings.influx_token
        return InfluxTelemetryStore(
            settings.influx_url,
            settings.influx_database,
            username=settings.influx_username,
            password=password.get_secret_value() if password else None,
            token=token.get_secret_value() if token else None,
            retention=plan if settings.influx_manage_schema else None,
        )
    return EmbeddedTelemetryStore(
        settings.data_dir / "telemetry.sqlite3", retention_days=settings.telemetry_retention_days
    )


def open_writer(settings: ServerSettings, store: TelemetryStore) -> BatchingWriter:
    """The batching writer in front of ``store``; started by the centre."""
    policy = BatchPolicy(
        batch_size=settings.telemetry_batch_size,
        max_age_s=settings.telemetry_flush_interval_s,
        queue_bound=settings.telemetry_queue_bound,
    )
    return BatchingWriter(store, policy)
