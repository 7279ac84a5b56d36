"""Points kept as columns read as the points they stand for, whole, by index and by slice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.telemetry import TelemetryPoint
from server.telemetry.columns import PointChunks, PointColumns

TAGS = {"gateway_id": "gw-1", "device_id": "bed-1"}


def columns(first: int, count: int) -> PointColumns:
    times = list(range(first, first + count))
    return PointColumns(
        "vitals", TAGS, {"hr": [t * 10 for t in times], "ok": [True] * count}, times
    )


def point(time_ns: int) -> TelemetryPoint:
    return TelemetryPoint("vitals", TAGS, {"hr": time_ns * 10, "ok": True}, time_ns)


def test_columns_read_as_their_points() -> None:
    series = columns(0, 4)

    assert list(series) == [point(t) for t in range(4)]
    assert (series[0], series[-1]) == (point(0), point(3))
    assert list(series[1:3]) == [point(1), point(2)]
    assert isinstance(series[1:3], PointColumns)  # still columns, for the encoder
    with pytest.raises(IndexError):
        series[4]


def test_chunks_open_up_nested_chunks_and_skip_empty_ones() -> None:
    inner = PointChunks([columns(0, 2), [point(2)]])
    chunks = PointChunks([inner, [], columns(3, 2)])

    assert len(chunks.chunks) == 3
    assert list(chunks) == [point(t) for t in range(5)]


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=4), max_size=5),
    start=st.integers(min_value=-12, max_value=12),
    stop=st.integers(min_value=-12, max_value=12),
    step=st.sampled_from([None, 1, 2, -1]),
)
def test_chunks_index_and_slice_as_a_list_of_their_points_does(
    sizes: list[int], start: int, stop: int, step: int | None
) -> None:
    made, first = [], 0
    for i, size in enumerate(sizes):
        # Columns and lists of points, taking turns.
        made.append(
            columns(first, size) if i % 2 else [point(t) for t in range(first, first + size)]
        )
        first += size
    chunks = PointChunks(made)
    flat = [point(t) for t in range(first)]

    assert len(chunks) == len(flat)
    assert list(chunks[start:stop:step]) == flat[start:stop:step]
    if -len(flat) <= start < len(flat):
        assert chunks[start] == flat[start]
    else:
        with pytest.raises(IndexError):
            chunks[start]
