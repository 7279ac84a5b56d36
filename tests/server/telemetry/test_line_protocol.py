"""The bulk line protocol encoder writes exactly what influxdb-client's Point writes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.telemetry import TelemetryPoint
from server.telemetry import line_protocol as lp
from server.telemetry.columns import PointChunks, PointColumns
from server.telemetry.line_protocol import LineProtocolEncoder

# Every character line protocol escapes somewhere, and a few that it must leave alone.
_TRICKY = st.sampled_from([",", " ", "=", '"', "\\", "\t", "#", "é", "水", "a", "_", "0"])
_names = st.text(alphabet=_TRICKY, min_size=1, max_size=8)
# Line breaks are refused by TelemetryPoint itself, so they never reach an encoder.
_values = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=_TRICKY, max_size=8)
)
_points = st.builds(
    TelemetryPoint,
    # A measurement starting with "#" makes a comment line; the wire contract's pattern has none.
    measurement=_names.filter(lambda name: not name.startswith("#")),
    tags=st.dictionaries(_names, st.text(alphabet=_TRICKY, max_size=6), max_size=3),
    fields=st.dictionaries(_names, _values, min_size=1, max_size=5),
    time_ns=st.integers(min_value=0, max_value=2**62),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=st.lists(_points, min_size=1, max_size=6))
def test_batch_is_points_line_protocol_joined(points: list[TelemetryPoint]) -> None:
    encoder = LineProtocolEncoder()
    expected = "\n".join(point.line_protocol() for point in points).encode()
    assert encoder.encode(points) == expected
    # Again from remembered series keys and field names.
    assert encoder.encode(points) == expected


def test_the_same_series_with_tags_in_another_order_is_one_key() -> None:
    encoder = LineProtocolEncoder()
    one = TelemetryPoint("vitals", {"gateway_id": "gw-1", "device_id": "bed"}, {"x": 1.5}, 7)
    other = TelemetryPoint("vitals", {"device_id": "bed", "gateway_id": "gw-1"}, {"x": 1.5}, 7)
    assert encoder.line(one) == encoder.line(other) == one.line_protocol()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=st.lists(_points, min_size=1, max_size=6), tags=_points.map(lambda p: p.tags))
def test_points_sharing_one_tags_mapping_keep_their_own_measurement(
    points: list[TelemetryPoint], tags: dict[str, str]
) -> None:
    """Ingest gives a message's points one tags mapping; the encoder looks its key up once."""
    shared = [TelemetryPoint(p.measurement, tags, p.fields, p.time_ns) for p in points]
    expected = "\n".join(point.line_protocol() for point in shared).encode()
    assert LineProtocolEncoder().encode(shared) == expected


def test_memory_of_series_keys_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lp, "MAX_SERIES", 3)
    encoder = LineProtocolEncoder()
    for i in range(10):
        point = TelemetryPoint("m", {"gateway_id": f"gw-{i}"}, {f"f{i}": i}, i)
        assert encoder.line(point) == point.line_protocol()
    assert len(encoder._series) <= 3
    assert len(encoder._field_names) <= 3


# A column of one kind (the common case, encoded by kind), or of mixed kinds (value by value).
_columns = st.one_of(
    st.lists(st.booleans(), min_size=3, max_size=3),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=3, max_size=3),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=3, max_size=3),
    st.lists(_values, min_size=3, max_size=3),
)
# "%" is the template's own escape; "{" and "}" would be str.format's.
_column_names = st.text(
    alphabet=st.sampled_from([*"%{}", ",", " ", "=", "\\", "a", "水"]), min_size=1
)
_series = st.builds(
    PointColumns,
    measurement=_column_names.filter(lambda name: not name.startswith("#")),
    tags=st.dictionaries(_column_names, _column_names, max_size=2),
    columns=st.dictionaries(_column_names, _columns, min_size=1, max_size=4),
    times_ns=st.lists(st.integers(min_value=0, max_value=2**62), min_size=3, max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series=st.lists(_series, min_size=1, max_size=3), points=st.lists(_points, max_size=3))
def test_series_kept_as_columns_are_encoded_as_points_line_protocol(
    series: list[PointColumns], points: list[TelemetryPoint]
) -> None:
    """Columns (alone, among points, or cut by a batch boundary) make Point's lines exactly."""
    chunks = PointChunks([series[0], points, *series[1:]])
    expected = "\n".join(point.line_protocol() for point in chunks).encode()
    encoder = LineProtocolEncoder()
    assert encoder.encode(chunks) == expected
    assert encoder.encode(series[0]) == "\n".join(p.line_protocol() for p in series[0]).encode()
    tail = chunks[1:]
    assert encoder.encode(tail) == "\n".join(point.line_protocol() for point in tail).encode()
