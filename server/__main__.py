"""``python -m server``: the API on 127.0.0.1:8000 by default, SQLite under SERVER_DATA_DIR."""

from __future__ import annotations

import sys
from types import FrameType

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from protocol.logs import configure_logging
from server import ConfigurationError
from server.core.collector import tune_collector
from server.core.config import ServerSettings
from server.core.switching import tune_switching
from server.live import LiveHub
from server.main import create_app


def main() -> int:
    configure_logging()
    try:
        settings = ServerSettings()
    except (ValidationError, ConfigurationError) as err:
        print(f"server: invalid configuration:\n{err}", file=sys.stderr)
        return 2
    app = create_app(settings)
    try:
        app.state.centre.prepare_store()
    except ConfigurationError as err:
        print(f"server: {err}", file=sys.stderr)
        return 2
    tune_collector()
    tune_switching()
    _Server(uvicorn_config(settings, app), app.state.centre.hub).run()
    return 0


def uvicorn_config(settings: ServerSettings, app: FastAPI) -> uvicorn.Config:
    """HTTPS when ``SERVER_TLS_CERTFILE`` and ``_KEYFILE`` are set, plain HTTP otherwise."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        ssl_certfile=settings.tls_certfile,
        ssl_keyfile=settings.tls_keyfile,
    )


class _Server(uvicorn.Server):
    """Ends the live streams as soon as shutdown begins.

    Uvicorn waits for open connections before it stops, and a live stream never ends by
    itself; ending them first lets SIGTERM stop the server at once, and each console
    reconnects (to another server process, if there is one) and re-reads the alarm list.
    """

    def __init__(self, config: uvicorn.Config, hub: LiveHub) -> None:
        super().__init__(config)
        self._hub = hub

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._hub.disconnect_all()
        super().handle_exit(sig, frame)


if __name__ == "__main__":
    sys.exit(main())
