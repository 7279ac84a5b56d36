"""The FastAPI application: REST API under /api, the live stream, and the console page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from server import Conflict, NotFound
from server.api.routes import (
    alarms,
    audit,
    auth,
    dispatch,
    homes,
    organisations,
    residents,
    responders,
    service_orders,
    stream,
    system,
    telemetry,
)
from server.centre import Centre
from server.core.config import ServerSettings

CONSOLE = Path(__file__).parent / "console" / "static"


def create_app(settings: ServerSettings) -> FastAPI:
    centre = Centre(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(centre.start, asyncio.get_running_loop())
        try:
            yield
        finally:
            await asyncio.to_thread(centre.stop)

    app = FastAPI(title="Eldercare dispatch centre", version="1", lifespan=lifespan)
    app.state.centre = centre
    api = APIRouter(prefix="/api")
    for module in (
        auth,
        alarms,
        dispatch,
        stream,
        system,
        telemetry,
        organisations,
        homes,
        residents,
        responders,
        service_orders,
        audit,
    ):
        api.include_router(module.router)
    app.add_exception_handler(NotFound, _status_of(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(Conflict, _status_of(status.HTTP_409_CONFLICT))
    app.include_router(api)
    app.mount("/", StaticFiles(directory=CONSOLE, html=True), name="console")
    return app


def _status_of(code: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    """Store errors become the HTTP answer they mean, with the store's message."""

    async def handle(_request: Request, err: Exception) -> Response:
        return JSONResponse({"detail": str(err)}, status_code=code)

    return handle
