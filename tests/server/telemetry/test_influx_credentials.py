"""Which credentials go out: a 1.x user as basic auth, a 2.x/3.x token as ``Token``.

influxd 1.6 cannot check a token (``Authorization: Token`` came with 1.8), so a small HTTP
listener here records what the store sends; basic auth is also checked on the real influxd
(test_batching: wrong credentials).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from server import ConfigurationError
from server.core.config import ServerSettings
from server.telemetry import TelemetryPoint
from server.telemetry.from_settings import open_store
from server.telemetry.influx import InfluxTelemetryStore

POINT = TelemetryPoint.at("battery", {"gateway_id": "gw-1"}, {"percent": 5}, datetime.now(UTC))


class Recorder(BaseHTTPRequestHandler):
    seen: list[str | None] = []

    def do_POST(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def listener() -> Iterator[str]:
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("credentials", "header"),
    [
        ({"token": "s3cr3t-token"}, "Token s3cr3t-token"),
        ({"username": "telegraf", "password": "pw"}, "Basic dGVsZWdyYWY6cHc="),
        ({}, None),
    ],
)
def test_credentials_are_sent_as_each_generation_expects(
    listener: str, credentials: dict[str, str], header: str | None
) -> None:
    store = InfluxTelemetryStore(listener, "eldercare", **credentials)  # type: ignore[arg-type]
    try:
        store.write_batch([POINT])
    finally:
        store.close()
    assert Recorder.seen == [header]


def test_a_token_and_a_username_together_are_refused() -> None:
    with pytest.raises(ValueError, match="token or a username"):
        InfluxTelemetryStore("http://127.0.0.1:1", "eldercare", token="t", username="u")


def test_the_settings_carry_a_token_to_the_store(listener: str, tmp_path: Path) -> None:
    settings = ServerSettings(
        data_dir=tmp_path,
        telemetry_backend="influxdb",
        influx_url=listener,
        influx_token=SecretStr("from-settings"),
        influx_manage_schema=False,
    )
    store = open_store(settings)
    try:
        assert isinstance(store, InfluxTelemetryStore)
        assert store.retention is None
        store.write_batch([POINT])
    finally:
        store.close()
    assert Recorder.seen == ["Token from-settings"]


def test_settings_refuse_a_token_with_a_username() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        ServerSettings(influx_token=SecretStr("t"), influx_username="u")
