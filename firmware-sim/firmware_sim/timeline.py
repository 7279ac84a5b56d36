"""Timed actions on a compressed clock: what scenarios and fault campaigns are made of.

Times are *simulated* seconds from the start of the run. :class:`SimClock` maps them to real
time with a speed factor (60 = one simulated minute per real second); ``speed=inf`` runs
everything as fast as it goes, which is what tests use instead of sleeping. Between actions
the runner calls ``idle(now_s)`` so that devices can make their periodic check-ins on time.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class TimedAction:
    at_s: float  # simulated seconds from the start
    order: int  # ties keep the order they were planned in
    what: str = field(compare=False)  # for logs, dry runs and the fault record
    run: Callable[[], object] = field(compare=False, repr=False)


class Timeline:
    """Actions sorted by time; planning order breaks ties."""

    def __init__(self, actions: Iterable[TimedAction] = ()) -> None:
        self._heap: list[TimedAction] = []
        self._order = itertools.count()
        for action in actions:
            self.add(action.at_s, action.what, action.run)

    def add(self, at_s: float, what: str, run: Callable[[], object]) -> TimedAction:
        if not math.isfinite(at_s) or at_s < 0:
            raise ValueError(f"{what}: time {at_s} s is not a time in the run")
        action = TimedAction(at_s, next(self._order), what, run)
        heapq.heappush(self._heap, action)
        return action

    def __len__(self) -> int:
        return len(self._heap)

    def peek(self) -> TimedAction | None:
        return self._heap[0] if self._heap else None

    def pop(self) -> TimedAction:
        return heapq.heappop(self._heap)

    def actions(self) -> list[TimedAction]:
        """All planned actions in the order they will run (the timeline is left as it is)."""
        return sorted(self._heap)

    @property
    def end_s(self) -> float:
        return max((a.at_s for a in self._heap), default=0.0)


class SimClock:
    """Simulated seconds on top of a real monotonic clock, ``speed`` times faster."""

    def __init__(
        self,
        speed: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()
        self.stop = stop or threading.Event()

    def now_s(self) -> float:
        if math.isinf(self.speed):
            return math.inf
        return (self._monotonic() - self._origin) * self.speed

    def wait_until(self, at_s: float, step_s: float) -> bool:
        """Wait (at most ``step_s`` simulated seconds) towards ``at_s``; False once stopped."""
        if math.isinf(self.speed):
            return not self.stop.is_set()
        target = min(at_s, self.now_s() + step_s)
        real = (target - self.now_s()) / self.speed
        return not self.stop.wait(max(0.0, real))


def run(
    timeline: Timeline,
    clock: SimClock,
    *,
    idle: Callable[[float], object] = lambda _now: None,
    idle_every_s: float = 60.0,
    on_action: Callable[[TimedAction], object] = lambda _a: None,
) -> int:
    """Run every action at its time; returns how many ran before a stop.

    ``idle(now_s)`` runs at least every ``idle_every_s`` simulated seconds and before each
    action with the action's time (periodic device reports that fall due in between). With an
    infinite speed, time jumps from action to action.
    """
    done = 0
    while len(timeline):
        action = timeline.peek()
        assert action is not None
        while clock.now_s() < action.at_s:
            idle(min(clock.now_s(), action.at_s))
            if not clock.wait_until(action.at_s, idle_every_s):
                return done
        if clock.stop.is_set():
            return done
        timeline.pop()
        idle(action.at_s)
        on_action(action)
        action.run()
        done += 1
    return done
