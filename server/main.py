"""The FastAPI application: REST API under /api, the live stream, and the console page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from server import Conflict, NotFound
from server.api import edge_errors, validation_errors
from server.api.routes import (
    alarms,
    audit,
    auth,
    away,
    dispatch,
    gateway_setup,
    homes,
    notifications,
    organisations,
    reports,
    residents,
    responders,
    service_orders,
    stream,
    system,
    telemetry,
    users,
    visits,
)
from server.centre import Centre
from server.core.config import ServerSettings
from server.crud.users import install_settings_token
from server.db.engine import serialise_bootstrap

CONSOLE = Path(__file__).parent / "console" / "static"
RESPONDER_PAGE = Path(__file__).parent / "responder" / "static"


def create_app(settings: ServerSettings) -> FastAPI:
    centre = Centre(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(centre.start, asyncio.get_running_loop())
        await asyncio.to_thread(install_admin_token, centre)
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
        visits,
        stream,
        system,
        telemetry,
        organisations,
        homes,
        residents,
        away,
        responders,
        service_orders,
        audit,
        users,
        reports,
        gateway_setup,
        notifications,
    ):
        api.include_router(module.router)
    app.add_exception_handler(NotFound, _status_of(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(Conflict, _status_of(status.HTTP_409_CONFLICT))
    edge_errors.install(app)
    validation_errors.install(app)
    app.include_router(api)
    app.mount("/responder", StaticFiles(directory=RESPONDER_PAGE, html=True), name="responder")
    app.mount("/", StaticFiles(directory=CONSOLE, html=True), name="console")
    return app


def install_admin_token(centre: Centre) -> None:
    """``SERVER_ADMIN_TOKEN`` in force: that token exists (or, unset, none from the settings).
    Serialised with other processes starting on the same PostgreSQL."""
    given = centre.settings.admin_token
    with centre.sessions.begin() as session:
        serialise_bootstrap(session)
        install_settings_token(
            session,
            given.get_secret_value() if given else None,
            centre.settings.admin_token_username,
            datetime.now(UTC),
        )


def _status_of(code: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    """Store errors become the HTTP answer they mean, with the store's message."""

    async def handle(_request: Request, err: Exception) -> Response:
        return JSONResponse({"detail": str(err)}, status_code=code)

    return handle
