"""The live stream hub: ingest (a paho thread) publishes, SSE clients (asyncio) receive.

A subscriber that cannot keep up is disconnected rather than fed a stream with holes; the
console then reconnects and re-reads the alarm list, so it never shows a partial picture.

Some events describe a condition that lasts (the store failing): those are *held*, and every
console that connects while the condition lasts gets them first, until they are *released*.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

QUEUE_LIMIT = 1000
_OVERFLOW: dict[str, Any] = {"type": "overflow"}


class LiveHub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._ids = itertools.count(1)
        self._held: dict[str, dict[str, Any]] = {}  # only touched on the event loop

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, event: dict[str, Any]) -> None:
        """Thread-safe: hand the event to the event loop, which fans it out."""
        self._on_loop(self._fan_out, event)

    def hold(self, key: str, event: dict[str, Any]) -> None:
        """Thread-safe: publish ``event`` and give it to every later subscriber too, until
        :meth:`release` of the same ``key``."""
        self._on_loop(self._hold, key, event)

    def release(self, key: str, event: dict[str, Any]) -> None:
        """Thread-safe: the condition held under ``key`` is over; ``event`` says so."""
        self._on_loop(self._release, key, event)

    def _on_loop(self, callback: Callable[..., object], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback, *args)

    def _hold(self, key: str, event: dict[str, Any]) -> None:
        self._held[key] = self._fan_out(event)

    def _release(self, key: str, event: dict[str, Any]) -> None:
        self._held.pop(key, None)
        self._fan_out(event)

    def _fan_out(self, event: dict[str, Any]) -> dict[str, Any]:
        event = {**event, "seq": next(self._ids)}
        for queue in list(self._subscribers):
            if queue.qsize() >= QUEUE_LIMIT - 1:
                self._subscribers.discard(queue)
                queue.put_nowait(_OVERFLOW)
            else:
                queue.put_nowait(event)
        return event

    def disconnect_all(self) -> None:
        """Thread-safe: end every live stream; each console reconnects and re-reads the list."""
        self._on_loop(self._end_all)

    def _end_all(self) -> None:
        for queue in list(self._subscribers):
            self._subscribers.discard(queue)
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_OVERFLOW)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        for event in self._held.values():
            queue.put_nowait(event)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


def is_overflow(event: dict[str, Any]) -> bool:
    return event is _OVERFLOW
