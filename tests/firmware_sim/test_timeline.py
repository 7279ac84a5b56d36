"""The timeline runs actions at their simulated time on a compressed clock; the clock is
injected, so nothing here sleeps."""

from __future__ import annotations

import itertools
import math
import threading

import pytest
from firmware_sim.timeline import SimClock, Timeline, run


class FakeTime:
    """A monotonic clock that moves only when the runner waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SteppingStop(threading.Event):
    """A stop event whose wait() advances the fake clock instead of sleeping."""

    def __init__(self, clock: FakeTime) -> None:
        super().__init__()
        self.clock = clock
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        self.clock.now += timeout
        return self.is_set()


def test_actions_run_in_time_order_and_ties_in_planning_order() -> None:
    ran: list[str] = []
    timeline = Timeline()
    for at, name in [(5, "b"), (1, "a"), (5, "c"), (0, "first")]:
        timeline.add(at, name, lambda name=name: ran.append(name))
    assert run(timeline, SimClock(math.inf)) == 4
    assert ran == ["first", "a", "b", "c"]


def test_speed_compresses_real_time_and_idle_sees_every_interval() -> None:
    fake = FakeTime()
    stop = SteppingStop(fake)
    clock = SimClock(60.0, monotonic=fake, stop=stop)
    idles: list[float] = []
    timeline = Timeline()
    timeline.add(600, "ten simulated minutes in", lambda: None)

    run(timeline, clock, idle=idles.append, idle_every_s=120)

    assert sum(stop.waits) == pytest.approx(10.0)  # 600 s at 60x: ten real seconds
    assert idles[0] == 0
    assert max(b - a for a, b in itertools.pairwise(idles)) <= 120 + 1e-9
    assert idles[-1] == 600


def test_a_stop_ends_the_run_before_later_actions() -> None:
    fake = FakeTime()
    stop = SteppingStop(fake)
    clock = SimClock(1.0, monotonic=fake, stop=stop)
    ran: list[int] = []
    timeline = Timeline()
    timeline.add(0, "now", lambda: ran.append(0))
    timeline.add(10, "stop", stop.set)
    timeline.add(20, "never", lambda: ran.append(20))
    assert run(timeline, clock) == 2
    assert ran == [0]
    assert len(timeline) == 1


def test_times_outside_the_run_are_refused() -> None:
    timeline = Timeline()
    with pytest.raises(ValueError, match="not a time"):
        timeline.add(-1, "before the start", lambda: None)
    with pytest.raises(ValueError, match="not a time"):
        timeline.add(math.nan, "nan", lambda: None)
