"""The FastAPI application: REST API under /api, the live stream, and the console page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from server.api.routes import alarms, auth, stream, system
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
    for module in (auth, alarms, stream, system):
        api.include_router(module.router)
    app.include_router(api)
    app.mount("/", StaticFiles(directory=CONSOLE, html=True), name="console")
    return app
