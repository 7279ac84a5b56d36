"""BatchingWriter against a real influxd: size, age, backpressure, retries, refusals, shutdown.

Nothing sleeps to wait: the writer's clock is a `ManualClock`, and tests poll the writer's
counters or InfluxDB with a deadline.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onebox.influx import InfluxServer
from onebox.net import free_port, wait_for
from server.telemetry import Admission, TelemetryPoint
from server.telemetry.batching import BatchingWriter, BatchPolicy
from server.telemetry.embedded import EmbeddedTelemetryStore
from server.telemetry.influx import InfluxTelemetryStore
from server.telemetry.influx_schema import RetentionPlan
from tests.server.telemetry.conftest import ManualClock

FAST_RETRY = {"retry_initial_s": 0.02, "retry_max_s": 0.2}


def points(base: datetime, count: int, first: int = 0) -> list[TelemetryPoint]:
    return [
        TelemetryPoint.at(
            "battery",
            {"gateway_id": "gw-1", "device_id": f"dev-{i % 7}"},
            {"percent": i},
            base + timedelta(milliseconds=i),
        )
        for i in range(first, first + count)
    ]


def stored(store: InfluxTelemetryStore) -> list[int]:
    try:
        rows = store.query("SELECT percent FROM battery")
    except Exception:  # the database may not exist yet
        return []
    return sorted(row["percent"] for row in rows)


def wait_until(check: object, what: str) -> None:
    wait_for(check, 20, what)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


MakeWriter = Callable[..., BatchingWriter]


@pytest.fixture
def make_writer(clock: ManualClock) -> Iterator[MakeWriter]:
    """``make_writer(store, **policy)``: a writer on the manual clock, closed at the end."""
    made: list[BatchingWriter] = []

    def make(store: InfluxTelemetryStore, **policy: float) -> BatchingWriter:
        writer = BatchingWriter(store, BatchPolicy(**{**FAST_RETRY, **policy}), clock=clock)  # type: ignore[arg-type]
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.close(timeout_s=2)


def test_full_batches_go_at_once_and_the_rest_waits_for_its_age(
    influx_store: InfluxTelemetryStore,
    clock: ManualClock,
    make_writer: MakeWriter,
    base_time: datetime,
) -> None:
    writer = make_writer(influx_store, batch_size=100, max_age_s=5.0)
    writer.start()
    for point in points(base_time, 250):
        assert writer.offer(point) is Admission.QUEUED

    wait_until(lambda: writer.stats().written == 200, "two full batches")
    assert len(stored(influx_store)) == 200
    stats = writer.stats()
    assert (stats.batches, stats.queued) == (2, 50)  # the clock has not moved: 50 still wait

    clock.advance(5.0)
    wait_until(lambda: writer.stats().written == 250, "the aged remainder")
    assert stored(influx_store) == list(range(250))
    stats = writer.stats()
    assert (stats.accepted, stats.batches, stats.queued, stats.dropped) == (250, 3, 0, {})
    assert stats.batch_latency.count == 3
    assert stats.batch_latency.cumulative[-1] <= 3


def test_a_message_of_many_points_is_taken_at_once_and_written_in_full_batches(
    influx_store: InfluxTelemetryStore,
    make_writer: MakeWriter,
    base_time: datetime,
) -> None:
    writer = make_writer(influx_store, batch_size=100, max_age_s=5.0)
    writer.start()

    admitted = writer.offer_many(points(base_time, 250))

    assert admitted == {Admission.QUEUED: 250, Admission.DISPLACED_OLDEST: 0}
    # Woken by the batch that crossed batch_size, not by the age (the clock stands still).
    wait_until(lambda: writer.stats().written == 200, "two full batches")
    assert writer.stats().queued == 50

    writer.close(timeout_s=20)
    assert writer.offer_many(points(base_time, 3, first=250)) == {Admission.REFUSED: 3}
    assert stored(influx_store) == list(range(250))
    assert writer.stats().dropped == {"closed": 3}


class HeldStore(InfluxTelemetryStore):
    """A real store that records what it encoded and when each request went out, and whose
    requests, once out, wait for ``release`` before their answer is read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.encoded: list[bytes] = []
        self.written_with: list[bytes | None] = []
        self.events: list[str] = []

    def encode(self, points: Sequence[TelemetryPoint]) -> bytes:
        body = super().encode(points)
        self.encoded.append(body)
        self.events.append(f"encoded {len(self.encoded)}")
        return body

    def write_batch(
        self,
        points: Sequence[TelemetryPoint],
        encoded: bytes | None = None,
        sent: Callable[[], object] | None = None,
    ) -> None:
        self.written_with.append(encoded)
        number = len(self.written_with)

        def went_out() -> None:
            self.events.append(f"sent {number}")
            if sent is not None:
                sent()
            assert self.release.wait(20)

        super().write_batch(points, encoded, went_out)


def held_store(influx: InfluxServer) -> HeldStore:
    return HeldStore(influx.url, f"telemetry_{secrets.token_hex(4)}", retention=RetentionPlan())


def test_the_next_batch_is_encoded_while_the_store_takes_the_last(
    influx: InfluxServer, make_writer: MakeWriter, base_time: datetime
) -> None:
    """One write in flight, the next batch's line protocol made meanwhile and used as is."""
    store = held_store(influx)
    writer = make_writer(store, batch_size=100, max_age_s=5.0)
    writer.start()

    writer.offer_many(points(base_time, 300))

    wait_until(lambda: len(store.encoded) >= 2, "the second batch encoded")
    assert len(store.written_with) == 1  # the first write is held: only one in flight
    assert writer.stats().queued == 300  # taken but unwritten points still count
    # The third waits in the queue until the second has been sent: two out of it at most.
    assert len(store.encoded) == 2
    store.release.set()
    wait_until(lambda: writer.stats().written == 300, "every batch written")
    assert store.written_with == store.encoded  # each write sent what was made ahead
    assert stored(store) == list(range(300))
    store.close()


def test_the_next_batch_is_encoded_only_once_the_last_has_been_sent(
    influx: InfluxServer, make_writer: MakeWriter, base_time: datetime
) -> None:
    """Not while the last one's request is still going out: the two would take turns on the
    interpreter and the sending would wait (see `BatchingWriter._send`). The real store says
    when its body is out, once for each write."""
    store = held_store(influx)
    store.release.set()
    writer = make_writer(store, batch_size=100, max_age_s=5.0)
    writer.start()

    writer.offer_many(points(base_time, 300))

    wait_until(lambda: writer.stats().written == 300, "every batch written")
    assert store.events == ["encoded 1", "sent 1", "encoded 2", "sent 2", "encoded 3", "sent 3"]
    store.close()


def test_a_batch_the_store_cannot_encode_is_counted_lost_and_the_next_goes_on(
    influx_store: InfluxTelemetryStore,
    make_writer: MakeWriter,
    base_time: datetime,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An encoder bug costs its batch (logged once, counted), not the writer."""
    encode = influx_store.encode
    calls: list[int] = []

    def broken_once(points: Sequence[TelemetryPoint]) -> bytes:
        calls.append(len(points))
        if len(calls) == 1:
            raise RuntimeError("encoder bug")
        return encode(points)

    monkeypatch.setattr(influx_store, "encode", broken_once)
    writer = make_writer(influx_store, batch_size=10)
    writer.start()

    writer.offer_many(points(base_time, 20))

    wait_until(lambda: writer.stats().written == 10, "the second batch written")
    assert writer.flush()
    assert stored(influx_store) == list(range(10, 20))
    assert writer.stats().dropped == {"error": 10}
    assert writer.stats().queued == 0
    assert caplog.text.count("could not encode a batch of 10 points") == 1


def test_flush_writes_a_young_partial_batch(
    influx_store: InfluxTelemetryStore,
    make_writer: MakeWriter,
    base_time: datetime,
) -> None:
    writer = make_writer(influx_store, batch_size=1000, max_age_s=60)
    writer.start()
    for point in points(base_time, 10):
        writer.offer(point)
    assert writer.flush(timeout_s=20)
    assert stored(influx_store) == list(range(10))


def test_a_full_queue_sheds_the_oldest_and_says_so(
    influx_store: InfluxTelemetryStore,
    make_writer: MakeWriter,
    base_time: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Not started yet: nothing drains the queue, as when the store cannot keep up.
    writer = make_writer(influx_store, batch_size=5, queue_bound=10)
    admissions = [writer.offer(point) for point in points(base_time, 15)]

    assert admissions == [Admission.QUEUED] * 10 + [Admission.DISPLACED_OLDEST] * 5
    assert writer.stats().dropped == {"queue_full": 5}
    assert writer.stats().shedding
    assert "telemetry queue full" in caplog.text

    writer.start()
    assert writer.flush(timeout_s=20)
    assert stored(influx_store) == list(range(5, 15))  # the newest ten
    assert not writer.stats().shedding


def test_a_store_that_is_down_then_up_gets_every_point(
    tmp_path: Path,
    make_writer: MakeWriter,
    base_time: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = InfluxServer(tmp_path / "influxd")
    store = InfluxTelemetryStore(server.url, "eldercare", retention=RetentionPlan(), timeout_s=2)
    try:
        writer = make_writer(store, batch_size=10)
        with caplog.at_level(logging.WARNING):
            writer.start()
            for point in points(base_time, 25):
                writer.offer(point)
            # Nobody listens yet: the set-up and the first batch are retried with backoff.
            wait_until(lambda: writer.stats().retries >= 3, "retries against a stopped server")
        assert writer.stats().written == 0
        assert not writer.prepared
        assert "telemetry store not ready at start" in caplog.text

        server.start()
        assert writer.flush(timeout_s=20)
        assert stored(store) == list(range(25))
        assert writer.stats().dropped == {}
        policies = {row["name"] for row in store.query('SHOW RETENTION POLICIES ON "eldercare"')}
        assert {"raw", "rollup_300s"} <= policies
    finally:
        store.close()
        server.stop()


def test_the_writer_sets_the_store_up_as_it_starts(
    influx_store: InfluxTelemetryStore, make_writer: MakeWriter
) -> None:
    """Before any telemetry: the first batch is not held up by it."""
    writer = make_writer(influx_store)
    assert not writer.prepared

    writer.start()

    wait_until(lambda: writer.prepared, "the store set up")
    database = influx_store.database
    assert {"name": database} in influx_store.query("SHOW DATABASES")
    policies = {
        row["name"] for row in influx_store.query(f'SHOW RETENTION POLICIES ON "{database}"')
    }
    assert {"raw", "rollup_300s"} <= policies
    assert writer.stats().batches == 0


def test_refused_points_are_counted_and_the_rest_kept(
    influx_store: InfluxTelemetryStore,
    make_writer: MakeWriter,
    base_time: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = make_writer(influx_store, batch_size=100)
    writer.start()
    batch = points(base_time, 10)
    # A string where InfluxDB already keeps integers: 1.x writes the rest ("partial write").
    batch[4] = TelemetryPoint.at("battery", {"gateway_id": "gw-1"}, {"percent": "4"}, base_time)
    writer.offer(batch[0])
    assert writer.flush(timeout_s=20)
    for point in batch[1:]:
        writer.offer(point)
    assert writer.flush(timeout_s=20)

    assert stored(influx_store) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    stats = writer.stats()
    assert (stats.written, stats.dropped) == (9, {"rejected": 1})
    assert "field type conflict" in caplog.text


def test_a_batch_too_large_for_the_server_is_split(
    tmp_path: Path, make_writer: MakeWriter, base_time: datetime
) -> None:
    # ~80 bytes a line: 100 points are ~8 kB, over this limit, so influxd answers 413.
    server = InfluxServer(tmp_path / "influxd", max_body_size=2000).start()
    store = InfluxTelemetryStore(server.url, "eldercare", retention=RetentionPlan())
    try:
        writer = make_writer(store, batch_size=100)
        writer.start()
        for point in points(base_time, 100):
            writer.offer(point)
        assert writer.flush(timeout_s=20)
        assert stored(store) == list(range(100))
        assert writer.stats().dropped == {}
    finally:
        store.close()
        server.stop()


def test_wrong_credentials_drop_the_batch_and_are_not_retried(
    tmp_path: Path, make_writer: MakeWriter, base_time: datetime
) -> None:
    server = InfluxServer(tmp_path / "influxd", auth_enabled=True).start()
    admin = InfluxTelemetryStore(server.url, "eldercare", username="admin", password="s3cret")
    wrong = InfluxTelemetryStore(server.url, "eldercare", username="admin", password="nope")
    try:
        admin.query("CREATE USER admin WITH PASSWORD 's3cret' WITH ALL PRIVILEGES")
        writer = make_writer(wrong, batch_size=10)
        writer.start()
        for point in points(base_time, 10):
            writer.offer(point)
        assert writer.flush(timeout_s=20)
        assert writer.stats().dropped == {"rejected": 10}
        assert writer.stats().retries == 0

        good = make_writer(admin, batch_size=10)
        good.start()
        for point in points(base_time, 10):
            good.offer(point)
        assert good.flush(timeout_s=20)
        assert stored(admin) == list(range(10))
    finally:
        admin.close()
        wrong.close()
        server.stop()


def test_close_writes_what_is_queued_then_refuses(
    influx_store: InfluxTelemetryStore, clock: ManualClock, base_time: datetime
) -> None:
    writer = BatchingWriter(influx_store, BatchPolicy(batch_size=1000, max_age_s=60), clock=clock)
    writer.start()
    for point in points(base_time, 30):
        writer.offer(point)
    writer.close()
    assert stored(influx_store) == list(range(30))
    assert writer.offer(points(base_time, 1)[0]) is Admission.REFUSED
    assert writer.stats().dropped == {"closed": 1}


def test_close_gives_up_on_a_store_that_never_answers(
    clock: ManualClock, base_time: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    store = InfluxTelemetryStore(f"http://127.0.0.1:{free_port()}", f"db_{secrets.token_hex(3)}")
    writer = BatchingWriter(store, BatchPolicy(batch_size=2, **FAST_RETRY), clock=clock)  # type: ignore[arg-type]
    writer.start()
    for point in points(base_time, 5):
        writer.offer(point)
    with caplog.at_level(logging.ERROR):
        writer.close(timeout_s=0.3)
    store.close()
    stats = writer.stats()
    assert stats.dropped == {"shutdown": 5}
    assert stats.written == 0
    assert "5 point(s) unwritten" in caplog.text


def test_housekeeping_runs_at_start_and_then_on_schedule_without_telemetry(
    embedded_store: EmbeddedTelemetryStore, clock: ManualClock, base_time: datetime
) -> None:
    def old_point(days: int) -> TelemetryPoint:
        at = base_time - timedelta(days=days)
        return TelemetryPoint.at("battery", {"gateway_id": "gw-1"}, {"percent": days}, at)

    embedded_store.write_batch([old_point(31), old_point(1)])
    writer = BatchingWriter(embedded_store, BatchPolicy(housekeeping_s=3600), clock=clock)
    writer.start()
    try:
        wait_until(lambda: len(embedded_store.query("battery")) == 1, "the prune at start")
        embedded_store.write_batch([old_point(40)])
        clock.advance(3600)
        wait_until(lambda: len(embedded_store.query("battery")) == 1, "the hourly prune")
        assert embedded_store.query("battery")[0][2] == {"percent": 1}
    finally:
        writer.close()
