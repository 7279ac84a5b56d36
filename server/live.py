"""The live stream hub: ingest (a paho thread) publishes, SSE clients (asyncio) receive.

A subscriber that cannot keep up is disconnected rather than fed a stream with holes; the
console then reconnects and re-reads the alarm list, so it never shows a partial picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

QUEUE_LIMIT = 1000
_OVERFLOW: dict[str, Any] = {"type": "overflow"}


class LiveHub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._ids = itertools.count(1)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, event: dict[str, Any]) -> None:
        """Thread-safe: hand the event to the event loop, which fans it out."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fan_out, event)

    def _fan_out(self, event: dict[str, Any]) -> None:
        event = {**event, "seq": next(self._ids)}
        for queue in list(self._subscribers):
            if queue.qsize() >= QUEUE_LIMIT - 1:
                self._subscribers.discard(queue)
                queue.put_nowait(_OVERFLOW)
            else:
                queue.put_nowait(event)

    def disconnect_all(self) -> None:
        """Thread-safe: end every live stream; each console reconnects and re-reads the list."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._end_all)

    def _end_all(self) -> None:
        for queue in list(self._subscribers):
            self._subscribers.discard(queue)
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_OVERFLOW)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


def is_overflow(event: dict[str, Any]) -> bool:
    return event is _OVERFLOW
