"""The writer's queue keeps arrival order across the chunks points came in."""

from __future__ import annotations

from server.telemetry import TelemetryPoint
from server.telemetry.point_queue import PointQueue


def points(first: int, count: int) -> list[TelemetryPoint]:
    return [
        TelemetryPoint("m", {"gateway_id": "gw-1"}, {"n": i}, i)
        for i in range(first, first + count)
    ]


def times(taken: list[TelemetryPoint]) -> list[int]:
    return [point.time_ns for point in taken]


def test_a_batch_ends_inside_a_chunk_and_the_next_goes_on_from_there() -> None:
    queue = PointQueue()
    queue.extend(points(0, 3), now=1.0)
    queue.extend(points(3, 4), now=2.0)

    assert times(queue.take(5)) == [0, 1, 2, 3, 4]
    assert len(queue) == 2
    assert queue.oldest_arrival() == 2.0  # what is left of the second chunk
    assert times(queue.take(5)) == [5, 6]
    assert len(queue) == 0
    assert queue.oldest_arrival() is None
    assert list(queue.take(5)) == []


def test_the_oldest_points_give_way_one_by_one() -> None:
    queue = PointQueue()
    queue.extend(points(0, 2), now=1.0)
    queue.extend(points(2, 3), now=2.0)
    queue.extend([], now=3.0)  # nothing: no empty chunk to age

    assert queue.drop_oldest(3) == 3
    assert queue.drop_oldest(0) == 0
    assert queue.oldest_arrival() == 2.0
    assert times(queue.take(10)) == [3, 4]
    assert queue.drop_oldest(1) == 0


def test_clear_says_how_many_were_dropped() -> None:
    queue = PointQueue()
    queue.extend(points(0, 4), now=1.0)
    queue.take(1)

    assert queue.clear() == 3
    assert len(queue) == 0
