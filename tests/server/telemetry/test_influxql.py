"""Pure pieces: InfluxQL quoting, Go durations, chart buckets, point checks, batch policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.telemetry import TelemetryPoint
from server.telemetry.batching import BatchPolicy
from server.telemetry.charts import bucket_for
from server.telemetry.influxql import go_duration_s, identifier, string
from server.telemetry.point import from_ns, to_ns

T0 = datetime(2026, 11, 22, 10, 15, 30, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        ("battery", '"battery"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ('x\\"; DROP', '"x\\\\\\"; DROP"'),
        ("line\nbreak", '"line\\nbreak"'),
    ],
)
def test_identifiers_are_quoted_and_escaped(raw: str, quoted: str) -> None:
    assert identifier(raw) == quoted


def test_strings_escape_single_quotes_and_backslashes() -> None:
    assert string("it's") == "'it\\'s'"
    assert string("\\' OR 1=1") == "'\\\\\\' OR 1=1'"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("720h0m0s", 2_592_000), ("1h30m0s", 5400), ("90m", 5400), ("1.5s", 1.5)],
)
def test_go_durations_as_influxdb_prints_them(text: str, seconds: float) -> None:
    assert go_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "30d", "h", "1 h"])
def test_other_text_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        go_duration_s(text)


@pytest.mark.parametrize(
    ("span", "bucket_s"),
    [
        (timedelta(minutes=5), 1),
        (timedelta(hours=1), 30),
        (timedelta(hours=24), 300),
        (timedelta(days=7), 3600),
        (timedelta(days=365), 86_400 * 7),
        (timedelta(days=3650), 86_400 * 7),
    ],
)
def test_bucket_keeps_a_chart_within_its_points(span: timedelta, bucket_s: int) -> None:
    assert bucket_for(T0, T0 + span, 300) == bucket_s


def test_nanoseconds_are_exact_both_ways() -> None:
    assert to_ns(T0) == 1_795_342_530_123_456_000
    assert from_ns(to_ns(T0)) == T0


@pytest.mark.parametrize(
    ("tags", "fields", "time", "message"),
    [
        ({}, {"v": 1}, datetime(2026, 1, 1), "timezone-aware"),
        ({}, {}, T0, "no fields"),
        ({}, {"v": float("inf")}, T0, "finite"),
        ({"device_id": "a\nb"}, {"v": 1}, T0, "line break"),
        ({}, {"a\rb": 1}, T0, "line break"),
    ],
)
def test_points_no_store_keeps_faithfully_are_refused(
    tags: dict[str, str], fields: dict[str, float], time: datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TelemetryPoint.at("battery", tags, fields, time)


def test_line_protocol_keeps_field_types() -> None:
    point = TelemetryPoint.at(
        "battery", {"gateway_id": "gw 1"}, {"percent": 5, "low": True, "v": 2.0, "fw": "1.2"}, T0
    )
    # Point sorts the fields; a whole float is written as ``2`` (no ``i``: still a float).
    assert point.line_protocol() == (
        'battery,gateway_id=gw\\ 1 fw="1.2",low=true,percent=5i,v=2 1795342530123456000'
    )


@pytest.mark.parametrize(
    ("queued", "age", "flushing", "due"),
    [
        (0, None, False, False),
        (0, None, True, False),
        (99, 0.5, False, False),
        (100, 0.0, False, True),
        (1, 1.0, False, True),
        (1, 0.99, False, False),
        (1, 0.0, True, True),
    ],
)
def test_batch_policy_due_by_size_by_age_or_on_flush(
    queued: int, age: float | None, flushing: bool, due: bool
) -> None:
    policy = BatchPolicy(batch_size=100, max_age_s=1.0, queue_bound=1000)
    assert policy.due(queued, age, flushing) is due


def test_batch_policy_needs_room_for_one_batch() -> None:
    with pytest.raises(ValueError, match="queue_bound"):
        BatchPolicy(batch_size=100, queue_bound=10)
