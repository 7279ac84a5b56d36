"""The live stream (Server-Sent Events): alarms as they arrive and as they are acknowledged.

SSE rather than WebSocket: one direction is all the console needs, browsers reconnect on
their own, and it passes proxies as plain HTTP. On (re)connect the client re-reads
``/api/alarms``; the stream then carries only what changes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from server.api.deps import CentreDep
from server.api.permissions import WatchCentre
from server.live import is_overflow

router = APIRouter(tags=["live"])
KEEPALIVE_S = 15.0


@router.get("/stream", response_class=StreamingResponse)
async def stream(_user: WatchCentre, centre: CentreDep) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        async with centre.hub.subscribe() as queue:
            yield "retry: 2000\n: connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if is_overflow(event):
                    return  # too slow: end the stream; the client reconnects and resyncs
                data = json.dumps(event, separators=(",", ":"))
                yield f"id: {event['seq']}\nevent: {event['type']}\ndata: {data}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
