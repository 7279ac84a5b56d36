"""InfluxTelemetryStore against a real ``influxd`` (Debian's 1.6) on loopback ports.

Fixtures build on each other: a module-wide InfluxDB server -> a store on a fresh database per
test, so a field type fixed by one test never conflicts with another's.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onebox.influx import InfluxServer
from onebox.net import free_port, wait_for
from server import ServerError
from server.telemetry import TelemetryPoint, TelemetryStore
from server.telemetry.columns import PointChunks, PointColumns
from server.telemetry.influx import (
    InfluxTelemetryStore,
    TelemetryQueryError,
    TelemetryWriteError,
)

# Microseconds set on purpose: the nanosecond timestamp must carry them exactly.
T0 = datetime(2026, 11, 22, 10, 15, 30, 123456, tzinfo=UTC)
T0_NS = 1_795_342_530_123_456_000


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path_factory.mktemp("influxd")).start()
    yield server
    server.stop()


@pytest.fixture
def store(influx: InfluxServer) -> Iterator[InfluxTelemetryStore]:
    opened = InfluxTelemetryStore(influx.url, f"telemetry_{secrets.token_hex(4)}")
    yield opened
    opened.close()


def rows_when(store: InfluxTelemetryStore, influxql: str, count: int) -> list[dict[str, Any]]:
    """Poll until the query returns ``count`` rows (1.x is read-your-writes; newer may lag)."""
    found: list[dict[str, Any]] = []

    def enough() -> bool:
        found[:] = store.query(influxql)
        return len(found) >= count

    wait_for(enough, 10, f"{count} rows from {influxql!r}")
    return found


def field_types(store: InfluxTelemetryStore, measurement: str) -> dict[str, str]:
    rows = store.query(f'SHOW FIELD KEYS FROM "{measurement}"')
    return {row["fieldKey"]: row["fieldType"] for row in rows}


def test_matches_the_telemetry_store_protocol(store: InfluxTelemetryStore) -> None:
    usable: TelemetryStore = store  # mypy checks the shape; this checks it at run time too
    assert callable(usable.write)
    assert callable(usable.close)
    assert issubclass(TelemetryWriteError, ServerError)


def test_construction_does_not_contact_the_server() -> None:
    # Nobody listens here: a centre must start while InfluxDB is down.
    store = InfluxTelemetryStore(f"http://127.0.0.1:{free_port()}", "eldercare")
    store.close()


def test_first_write_creates_the_database(store: InfluxTelemetryStore) -> None:
    assert {"name": store.database} not in store.query("SHOW DATABASES")
    store.write("battery", {"gateway_id": "gw-001"}, {"percent": 80}, T0)
    assert {"name": store.database} in store.query("SHOW DATABASES")


def test_a_database_dropped_at_run_time_is_created_again(store: InfluxTelemetryStore) -> None:
    store.write("battery", {"gateway_id": "gw-001"}, {"percent": 80}, T0)
    store.query(f'DROP DATABASE "{store.database}"')
    store.write("battery", {"gateway_id": "gw-001"}, {"percent": 79}, T0 + timedelta(seconds=1))
    assert [r["percent"] for r in rows_when(store, "SELECT percent FROM battery", 1)] == [79]


def test_fields_keep_their_types_and_time_its_nanoseconds(store: InfluxTelemetryStore) -> None:
    tags = {"gateway_id": "gw-001", "device_id": "call-button-1"}
    fields: dict[str, float | int | bool | str] = {
        "percent": 87,
        "low": False,
        "voltage": 2.95,
        "firmware": "1.2.3",
    }
    store.write("battery", tags, fields, T0)
    store.write("battery", tags, {**fields, "percent": 12, "low": True}, T0 + timedelta(hours=1))

    rows = rows_when(store, "SELECT * FROM battery ORDER BY time", 2)

    assert rows == [
        {"time": T0_NS, **tags, **fields},
        {"time": T0_NS + 3_600 * 10**9, **tags, **fields, "percent": 12, "low": True},
    ]
    first = rows[0]
    assert type(first["time"]) is int
    assert type(first["percent"]) is int
    assert type(first["low"]) is bool
    assert type(first["voltage"]) is float
    assert type(first["firmware"]) is str
    assert field_types(store, "battery") == {
        "percent": "integer",
        "low": "boolean",
        "voltage": "float",
        "firmware": "string",
    }


def test_a_whole_float_is_stored_as_float(store: InfluxTelemetryStore) -> None:
    store.write("climate", {"gateway_id": "gw-001"}, {"temperature_c": 20.0}, T0)
    assert field_types(store, "climate") == {"temperature_c": "float"}
    # Quirk of InfluxDB's JSON: float64 20.0 is printed as 20, so it reads back as an int.
    assert rows_when(store, "SELECT temperature_c FROM climate", 1)[0]["temperature_c"] == 20


@pytest.mark.parametrize(
    ("measurement", "tag_value"),
    [
        ("room temperature", "living room"),
        ("battery,level", "gw,001"),
        ("a=b", "key=value"),
        ("all of , = them", 'x, y=z "quoted"'),
    ],
)
def test_names_and_tag_values_with_special_characters_round_trip(
    store: InfluxTelemetryStore, measurement: str, tag_value: str
) -> None:
    tags = {"gateway_id": tag_value, "device id, =": "sos button=1, kitchen"}
    note = 'said "help", then \\ and a\nnew line'
    store.write(measurement, tags, {"percent": 5, "note": note}, T0)

    quoted = measurement.replace('"', '\\"')
    rows = rows_when(store, f'SELECT * FROM "{quoted}"', 1)

    assert rows == [{"time": T0_NS, **tags, "percent": 5, "note": note}]


def test_series_kept_as_columns_are_stored_as_their_points(store: InfluxTelemetryStore) -> None:
    """A gateway's series reach InfluxDB as columns (`PointColumns`), beside points, and read
    back as the same rows, types and escapes included."""
    tags = {"gateway_id": "gw,001 =x", "device_id": "bed-1"}
    columns: dict[str, list[float | int | bool | str]] = {
        "heart_bpm": [61.5, 62.0],
        "beats": [3, 4],
        "in_bed": [True, False],
        "note": ['said "help"', "a \\ b"],
    }
    series = PointColumns("vitals", tags, columns, [T0_NS, T0_NS + 10**9])
    alone = TelemetryPoint("vitals", {"gateway_id": "gw-2"}, {"heart_bpm": 70.25}, T0_NS)

    store.write_batch(PointChunks([series, [alone]]))

    rows = rows_when(store, "SELECT * FROM vitals ORDER BY time", 3)
    assert sorted(rows, key=lambda row: (row["time"], row["gateway_id"])) == [
        {
            "time": T0_NS,
            **tags,
            "heart_bpm": 61.5,
            "beats": 3,
            "in_bed": True,
            "note": 'said "help"',
        },
        {"time": T0_NS, "gateway_id": "gw-2", "device_id": None, "heart_bpm": 70.25}
        | dict.fromkeys(("beats", "in_bed", "note")),
        {"time": T0_NS + 10**9, **tags, "heart_bpm": 62, "beats": 4, "in_bed": False}
        | {"note": "a \\ b"},
    ]
    assert field_types(store, "vitals") == {
        "beats": "integer",
        "heart_bpm": "float",
        "in_bed": "boolean",
        "note": "string",
    }


def test_concurrent_writers_lose_nothing(store: InfluxTelemetryStore) -> None:
    per_thread, threads = 50, 4
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for i in range(per_thread):
                at = T0 + timedelta(milliseconds=i)
                store.write("battery", {"gateway_id": f"gw-{number}"}, {"percent": i}, at)
        except BaseException as err:
            failures.append(err)
            raise

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)

    assert failures == []
    rows = rows_when(store, "SELECT * FROM battery", per_thread * threads)
    assert len(rows) == per_thread * threads


def test_writing_to_a_stopped_server_is_a_retryable_error(tmp_path: Path) -> None:
    server = InfluxServer(tmp_path / "influxd").start()
    store = InfluxTelemetryStore(server.url, "eldercare", timeout_s=2.0)
    try:
        store.write("battery", {"gateway_id": "gw-001"}, {"percent": 80}, T0)
        server.stop()
        with pytest.raises(TelemetryWriteError, match="unreachable") as caught:
            store.write("battery", {"gateway_id": "gw-001"}, {"percent": 79}, T0)
        assert caught.value.retryable
        assert server.url in str(caught.value)
    finally:
        store.close()
        server.stop()


def test_writing_where_nobody_listens_is_a_retryable_error() -> None:
    store = InfluxTelemetryStore(f"http://127.0.0.1:{free_port()}", "eldercare")
    try:
        with pytest.raises(TelemetryWriteError, match="unreachable") as caught:
            store.write("battery", {"gateway_id": "gw-001"}, {"percent": 80}, T0)
        assert caught.value.retryable
    finally:
        store.close()


def test_a_field_type_conflict_carries_influxdbs_message(store: InfluxTelemetryStore) -> None:
    store.write("battery", {"gateway_id": "gw-001"}, {"percent": 80}, T0)
    with pytest.raises(TelemetryWriteError, match="field type conflict") as caught:
        store.write("battery", {"gateway_id": "gw-001"}, {"percent": "80"}, T0)
    assert "HTTP 400" in str(caught.value)
    assert 'input field "percent" on measurement "battery" is type string' in str(caught.value)
    assert not caught.value.retryable  # the same point fails the same way every time


def test_a_field_key_influxdb_refuses_carries_its_message(store: InfluxTelemetryStore) -> None:
    with pytest.raises(TelemetryWriteError, match="invalid field name") as caught:
        store.write("battery", {"gateway_id": "gw-001"}, {"time": 1}, T0)
    assert not caught.value.retryable


def test_a_bad_query_carries_influxdbs_message(store: InfluxTelemetryStore) -> None:
    with pytest.raises(TelemetryQueryError, match="error parsing query"):
        store.query("SELEC * FROM battery")


def test_points_influxdb_could_not_store_faithfully_are_refused_before_sending(
    store: InfluxTelemetryStore,
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.write("battery", {}, {"percent": 1}, datetime(2026, 11, 22, 10, 0))
    with pytest.raises(ValueError, match="finite"):
        store.write("climate", {}, {"temperature_c": float("nan")}, T0)
    with pytest.raises(ValueError, match="no fields"):
        store.write("battery", {}, {}, T0)


def test_a_missing_influxd_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("onebox.influx.INFLUXD", tmp_path / "no-such-influxd")
    with pytest.raises(FileNotFoundError, match="InfluxDB is not installed"):
        InfluxServer(tmp_path).start()
