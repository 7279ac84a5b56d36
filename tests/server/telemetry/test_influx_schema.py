"""Retention policies and downsampling on a real influxd: idempotent, changed in place, live.

The influxd of these tests runs continuous queries (``continuous_queries=True``), so one test
watches a real continuous query fill the downsampled policy.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onebox.influx import InfluxServer
from onebox.net import wait_for
from server.telemetry import SeriesQuery, TelemetryPoint
from server.telemetry.influx import InfluxTelemetryStore
from server.telemetry.influx_schema import RetentionPlan, ensure_schema


def policies(store: InfluxTelemetryStore) -> dict[str, tuple[str, bool]]:
    rows = store.query(f'SHOW RETENTION POLICIES ON "{store.database}"')
    return {row["name"]: (row["duration"], row["default"]) for row in rows}


def continuous_queries(store: InfluxTelemetryStore) -> list[str]:
    series = store._run("SHOW CONTINUOUS QUERIES")
    return [
        values[0]
        for one in series
        if one["name"] == store.database
        for values in one.get("values", [])
    ]


def test_set_up_is_idempotent(influx_store: InfluxTelemetryStore) -> None:
    influx_store.prepare()
    influx_store.prepare()

    assert policies(influx_store) == {
        "autogen": ("0s", False),
        "raw": ("720h0m0s", True),
        "rollup_300s": ("17520h0m0s", False),
    }
    assert continuous_queries(influx_store) == ["rollup_300s_mean"]
    assert ensure_schema(influx_store._run, influx_store.database, RetentionPlan()) == []


def test_a_changed_plan_is_applied_in_place_once(influx_store: InfluxTelemetryStore) -> None:
    influx_store.prepare()
    changed = RetentionPlan(raw_days=7, rollup_interval_s=60, rollup_days=365)

    done = ensure_schema(influx_store._run, influx_store.database, changed)

    assert [statement.split(" ON ")[0] for statement in done] == [
        'ALTER RETENTION POLICY "raw"',
        'CREATE RETENTION POLICY "rollup_60s"',
        'DROP CONTINUOUS QUERY "rollup_300s_mean"',
        'CREATE CONTINUOUS QUERY "rollup_60s_mean"',
    ]
    found = policies(influx_store)
    assert found["raw"] == ("168h0m0s", True)
    assert found["rollup_60s"] == ("8760h0m0s", False)
    assert "rollup_300s" in found  # its data is kept until it expires
    assert continuous_queries(influx_store) == ["rollup_60s_mean"]
    assert ensure_schema(influx_store._run, influx_store.database, changed) == []


def test_without_a_plan_only_the_database_is_made(influx: InfluxServer) -> None:
    """The 2.x/3.x mode: the operator owns retention; we only write and read."""
    store = InfluxTelemetryStore(influx.url, f"telemetry_{secrets.token_hex(4)}")
    try:
        store.prepare()
        assert policies(store) == {"autogen": ("0s", True)}
        assert continuous_queries(store) == []
    finally:
        store.close()


def test_the_continuous_query_downsamples_as_time_passes(influx: InfluxServer) -> None:
    plan = RetentionPlan(rollup_interval_s=1)
    store = InfluxTelemetryStore(influx.url, f"telemetry_{secrets.token_hex(4)}", retention=plan)
    try:
        store.prepare()
        # Two seconds ahead: the interval has not ended, so the query has not run for it yet.
        ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        store.write_batch(
            [
                TelemetryPoint.at("climate", {"gateway_id": "gw-1"}, {"t": t}, ahead + offset)
                for t, offset in ((20.0, timedelta(0)), (22.0, timedelta(milliseconds=500)))
            ]
        )
        rows: list[dict[str, object]] = []

        def downsampled() -> bool:
            rows[:] = store.query('SELECT * FROM "rollup_1s"."climate"')
            return bool(rows)

        wait_for(downsampled, 15, "the continuous query to run")
        assert rows == [
            {"time": int(ahead.timestamp()) * 10**9, "gateway_id": "gw-1", "mean_t": 21}
        ]
    finally:
        store.close()


def test_charts_older_than_raw_data_read_the_downsampled_policy(
    influx: InfluxServer, base_time: datetime
) -> None:
    database = f"telemetry_{secrets.token_hex(4)}"
    now = RetentionPlan()
    raw = InfluxTelemetryStore(influx.url, database, retention=now)
    # The same database seen 40 days later: the range is past the 30 raw days.
    later = InfluxTelemetryStore(
        influx.url, database, retention=now, clock=lambda: time.time() + 40 * 86_400
    )
    try:
        raw.prepare()
        raw.write_batch(
            [
                TelemetryPoint.at(
                    "vitals", {"gateway_id": "gw-1", "device_id": "bed-1"}, {"hr": 60 + i % 17}, at
                )
                for i in range(720)
                for at in [base_time + timedelta(seconds=10 * i)]
            ]
        )
        end = base_time + timedelta(hours=2)
        raw.downsample(base_time, end)  # what the continuous query did as time went by

        query = SeriesQuery("vitals", "hr", "gw-1", "bed-1", base_time, end, bucket_s=60)
        from_raw = raw.series(replace(query, bucket_s=300))
        from_rollup = later.series(query)  # bucket widened to the 300 s the rollup holds

        assert len(from_rollup) == 24
        assert [p.time for p in from_rollup] == [p.time for p in from_raw]
        assert [p.mean for p in from_rollup] == pytest.approx([p.mean for p in from_raw])
    finally:
        raw.close()
        later.close()
