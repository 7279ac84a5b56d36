"""Telemetry batches at the ingest handler: every reading a point, a bad one dropped alone,
backpressure counted per point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocol import (
    TelemetryBatchBody,
    TelemetryBatchMessage,
    TelemetryReading,
    TelemetrySeries,
    TelemetrySeriesBody,
    TelemetrySeriesMessage,
    encode,
)
from server.centre import Centre
from server.ingest.handler import Outgoing, UplinkHandler
from server.ingest.telemetry import points_of
from server.telemetry.batching import BatchingWriter, BatchPolicy
from server.telemetry.embedded import EmbeddedTelemetryStore

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
TOPIC = "eldercare/v1/gw-1/up/telemetry_batch"


def batch(*readings: TelemetryReading) -> bytes:
    message = TelemetryBatchMessage(
        gateway_id="gw-1", gateway_time=NOW, body=TelemetryBatchBody(readings=list(readings))
    )
    return encode(message)


def vitals(
    minute: int, device_id: str | None = "bed-1", fields: dict[str, float] | None = None
) -> TelemetryReading:
    return TelemetryReading(
        measurement="vitals",
        device_id=device_id,
        gateway_time=NOW + timedelta(minutes=minute),
        fields=fields or {"heart_bpm": 60.0 + minute},
    )


@pytest.fixture
def store(centre: Centre) -> EmbeddedTelemetryStore:
    store = centre.telemetry_store
    assert isinstance(store, EmbeddedTelemetryStore)
    centre.telemetry.start()
    return store


@pytest.mark.parametrize("lane", ["alone", "routine batch"])
def test_every_reading_is_a_point_with_its_device_and_time(
    centre: Centre, store: EmbeddedTelemetryStore, lane: str
) -> None:
    handler = UplinkHandler(centre.sessions, centre.telemetry, clock=NOW.timestamp)
    payload = batch(vitals(0), vitals(1, device_id="bed-2"), vitals(2, device_id=None))
    if lane == "alone":
        assert handler.handle(TOPIC, payload) == Outgoing()
    else:
        assert handler.handle_many([(TOPIC, payload)]) == Outgoing()
    assert centre.telemetry.flush()

    rows = store.query("vitals")
    assert rows == [
        (
            int(NOW.timestamp()) * 10**9,
            {"gateway_id": "gw-1", "device_id": "bed-1"},
            {"heart_bpm": 60.0},
        ),
        (
            int(NOW.timestamp() + 60) * 10**9,
            {"gateway_id": "gw-1", "device_id": "bed-2"},
            {"heart_bpm": 61.0},
        ),
        (int(NOW.timestamp() + 120) * 10**9, {"gateway_id": "gw-1"}, {"heart_bpm": 62.0}),
    ]
    assert handler.counts["telemetry_batch"] == 1


def test_a_reading_no_store_could_keep_is_dropped_alone(
    centre: Centre, store: EmbeddedTelemetryStore
) -> None:
    handler = UplinkHandler(centre.sessions, centre.telemetry, clock=NOW.timestamp)
    bad = vitals(1, fields={"heart\nbpm": 61.0})  # line protocol cannot carry a line break in a key

    handler.handle(TOPIC, batch(vitals(0), bad, vitals(2)))

    assert centre.telemetry.flush()
    assert [fields for _, _, fields in store.query("vitals")] == [
        {"heart_bpm": 60.0},
        {"heart_bpm": 62.0},
    ]
    assert handler.counts["telemetry_invalid"] == 1


def us(minute: int) -> int:
    return int((NOW + timedelta(minutes=minute)).timestamp()) * 10**6


def test_series_are_points_as_readings_are_and_a_bad_series_is_dropped_whole(
    centre: Centre, store: EmbeddedTelemetryStore
) -> None:
    """Columns become the same points as readings would; a series whose field names or times
    no store can keep is refused with all of its readings, and the other series go on."""
    handler = UplinkHandler(centre.sessions, centre.telemetry, clock=NOW.timestamp)
    good = TelemetrySeries(
        measurement="vitals",
        device_id="bed-2",
        gateway_times_us=[us(1), us(2)],
        fields={"heart_bpm": [61.0, 62.0], "in_bed": [True, False]},
    )
    bad = TelemetrySeries(
        measurement="vitals", gateway_times_us=[us(3), us(4), us(5)], fields={"a\nb": [1, 2, 3]}
    )
    early = TelemetrySeries(  # before 1677: no nanosecond count holds it
        measurement="vitals", gateway_times_us=[-(10**16)], fields={"heart_bpm": [1.0]}
    )
    body = TelemetrySeriesBody(series=[bad, good, early])
    message = TelemetrySeriesMessage(gateway_id="gw-1", gateway_time=NOW, body=body)

    handler.handle(TOPIC, batch(vitals(0)))
    handler.handle("eldercare/v1/gw-1/up/telemetry_series", encode(message))

    assert centre.telemetry.flush()
    bed_2 = {"gateway_id": "gw-1", "device_id": "bed-2"}
    assert store.query("vitals") == [
        (us(0) * 1000, {"gateway_id": "gw-1", "device_id": "bed-1"}, {"heart_bpm": 60.0}),
        (us(1) * 1000, bed_2, {"heart_bpm": 61.0, "in_bed": True}),
        (us(2) * 1000, bed_2, {"heart_bpm": 62.0, "in_bed": False}),
    ]
    assert handler.counts["telemetry_invalid"] == 4
    assert handler.counts["telemetry_series"] == 1


def test_each_reading_with_a_line_break_in_a_field_name_is_refused_with_its_reason() -> None:
    """Field names are checked once per set of names: a bad set is refused each time it
    comes, and a good set checked once still makes every one of its readings a point."""
    bad = {"heart\nbpm": 61.0}
    message = TelemetryBatchMessage(
        gateway_id="gw-1",
        gateway_time=NOW,
        body=TelemetryBatchBody(
            readings=[vitals(0), vitals(1, fields=bad), vitals(2), vitals(3, fields=bad)]
        ),
    )

    found = points_of(message)

    assert [(p.fields, p.tags) for p in found.points] == [
        ({"heart_bpm": 60.0}, {"gateway_id": "gw-1", "device_id": "bed-1"}),
        ({"heart_bpm": 62.0}, {"gateway_id": "gw-1", "device_id": "bed-1"}),
    ]
    assert [p.time_ns for p in found.points] == [
        int((NOW + timedelta(minutes=m)).timestamp()) * 10**9 for m in (0, 2)
    ]
    assert found.refused == 2
    assert found.why_refused == "a line break in a field name of 'vitals'"


def test_a_reading_before_1677_is_dropped_alone_before_it_can_fail_the_store(
    centre: Centre, store: EmbeddedTelemetryStore
) -> None:
    """The wire allows years 1-9999; a store keeps nanoseconds in 64 bits (SQLite would
    refuse the integer and with it the whole batch of every gateway's points)."""
    handler = UplinkHandler(centre.sessions, centre.telemetry, clock=NOW.timestamp)
    ancient = TelemetryReading(
        measurement="vitals",
        device_id="bed-1",
        gateway_time=datetime(1600, 1, 1, tzinfo=UTC),
        fields={"heart_bpm": 1.0},
    )

    handler.handle(TOPIC, batch(vitals(0), ancient, vitals(2)))

    assert centre.telemetry.flush()
    assert [fields for _, _, fields in store.query("vitals")] == [
        {"heart_bpm": 60.0},
        {"heart_bpm": 62.0},
    ]
    assert handler.counts["telemetry_invalid"] == 1
    assert centre.telemetry.stats().dropped == {}


def test_a_batch_into_a_full_queue_displaces_the_oldest_point_by_point(centre: Centre) -> None:
    # The writer is not running: the store is not keeping up.
    writer = BatchingWriter(centre.telemetry_store, BatchPolicy(batch_size=1, queue_bound=3))
    handler = UplinkHandler(centre.sessions, writer, clock=NOW.timestamp)

    handler.handle(TOPIC, batch(*(vitals(minute) for minute in range(5))))

    assert handler.counts["telemetry_displaced_oldest"] == 2
    stats = writer.stats()
    assert (stats.accepted, stats.queued, stats.dropped) == (5, 3, {"queue_full": 2})
    assert stats.shedding
