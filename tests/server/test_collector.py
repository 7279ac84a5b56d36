"""The server's collector tuning: what exists at start leaves the passes, young passes rarer."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from server.core.collector import tune_collector


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector_restored")
def test_start_up_objects_are_frozen_and_young_passes_are_rarer() -> None:
    _, middle, old = gc.get_threshold()
    built_at_start = [[n] for n in range(1000)]  # lists: objects the collector tracks

    tune_collector(young_threshold=12_345)

    assert gc.get_threshold() == (12_345, middle, old)
    assert gc.get_freeze_count() >= len(built_at_start)
    # A frozen object is in no generation: a full pass no longer visits it.
    gc.collect()
    assert not any(o is built_at_start for o in gc.get_objects())
