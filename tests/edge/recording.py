"""A thread-safe sink for edge events, waited on with a deadline instead of sleeps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from edge.events import AvailabilityChanged, EdgeEvent, KeyPressed

POLL_S = 0.01


class EventRecorder:
    """Collects events from a driver thread; tests wait for a condition with a deadline."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._events: list[EdgeEvent] = []

    def __call__(self, event: EdgeEvent) -> None:
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    @property
    def events(self) -> list[EdgeEvent]:
        with self._changed:
            return list(self._events)

    def presses(self) -> list[KeyPressed]:
        return [e for e in self.events if isinstance(e, KeyPressed)]

    def availability(self) -> list[bool]:
        return [e.online for e in self.events if isinstance(e, AvailabilityChanged)]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        """True once ``condition()`` holds; wakes on every event and re-checks every 10 ms
        for state that changes without an event (such as a byte counter)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(POLL_S, remaining))
        return True
