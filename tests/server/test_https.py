"""The server serves HTTPS with the certificate and key from its settings (a self-signed
certificate made here with the openssl CLI)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
import uvicorn

from server.__main__ import uvicorn_config
from server.core.config import ServerSettings
from server.main import create_app


class _Started(uvicorn.Server):
    """Tells the test when it listens, so the test waits on an event, not a clock."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()


def test_serves_https_with_the_configured_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ServerSettings(
        data_dir=tmp_path,
        mqtt_enabled=False,
        admin_password="x",
        port=port,
        tls_certfile=cert,
        tls_keyfile=key,
    )
    server = _Started(uvicorn_config(settings, create_app(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert server.listening.wait(30)
        response = httpx.get(
            f"https://127.0.0.1:{port}/api/health", verify=ssl.create_default_context(cafile=cert)
        )
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"http://127.0.0.1:{port}/api/health")
    finally:
        server.should_exit = True
        thread.join(30)
