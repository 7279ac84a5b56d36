"""The whole system on one machine: broker, server, gateway, as real processes.

Used by ``make demo`` and by the system tests, so the demo and the tests start the system
the same way a user would: ``python -m server`` and ``python -m gateway`` with settings in
their environment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from onebox import REPO
from onebox.broker import Broker
from onebox.net import free_port, wait_for
from onebox.process import Service


@dataclass
class Accounts:
    """Broker passwords, fresh for every run (the broker's password file is rewritten)."""

    server: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    gateways: dict[str, str] = field(default_factory=dict)
    # On a home's own broker (deploy/mosquitto/home/acl): Zigbee2MQTT and the home's gateway.
    zigbee2mqtt: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    home_gateway: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    def for_gateway(self, gateway_id: str) -> str:
        return self.gateways.setdefault(gateway_id, secrets.token_urlsafe(18))

    def broker_accounts(self) -> dict[str, str]:
        """Accounts on the centre's broker."""
        return {"server": self.server, **self.gateways}

    def home_broker_accounts(self) -> dict[str, str]:
        """Accounts on a home's own broker."""
        return {"zigbee2mqtt": self.zigbee2mqtt, "gateway": self.home_gateway}


def _python_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVER_", "GATEWAY_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "firmware-sim")])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def python_service(name: str, argv: list[str], workdir: Path, env: dict[str, str]) -> Service:
    """``python -m <argv>`` from this checkout, settings in its environment, log under workdir."""
    return Service(
        name,
        [sys.executable, "-m", *argv],
        workdir / "logs" / f"{name}.log",
        env=_python_env(env),
        cwd=REPO,
    )


def shared_secret_key(database_url: str) -> str:
    """The key for webhook secrets at rest that every server process on ``database_url``
    gets: each has its own data directory, so each would otherwise generate its own key and
    all but the first would be refused at start. Derived from the URL so that processes
    started apart agree; for these throwaway databases only, never for a real centre."""
    digest = hashlib.sha256(b"onebox secret key\0" + database_url.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


class ServerProcess:
    def __init__(
        self,
        workdir: Path,
        broker: Broker,
        accounts: Accounts,
        *,
        database_url: str | None = None,
        admin_password: str | None = None,
        port: int | None = None,
        instance: str = "1",
        settings: dict[str, str] | None = None,
    ) -> None:
        """``settings``: more ``SERVER_*`` variables, e.g. a short cloud fall window."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / f"server-{instance}"
        env = {
            "SERVER_PORT": str(self.port),
            "SERVER_DATA_DIR": str(self.data_dir),
            "SERVER_MQTT_HOST": broker.host,
            "SERVER_MQTT_PORT": str(broker.port),
            "SERVER_MQTT_USERNAME": "server",
            "SERVER_MQTT_PASSWORD": accounts.server,
            "SERVER_INSTANCE": instance,
        }
        if database_url:
            env["SERVER_DATABASE_URL"] = database_url
            env["SERVER_SECRET_KEY"] = shared_secret_key(database_url)
        if admin_password:
            env["SERVER_ADMIN_PASSWORD"] = admin_password
        env.update(settings or {})
        self.service = python_service(f"server-{instance}", ["server"], workdir, env)

    def start(self, timeout: float = 60) -> ServerProcess:
        self.service.start()
        wait_for(self._ready, timeout, f"server on {self.url}")
        return self

    def _ready(self) -> bool:
        self.service.check_alive()
        try:
            health = httpx.get(f"{self.url}/api/health", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            return False
        return health.get("mqtt") == "up" and health.get("live_relay") in ("local", "up")

    def stop(self) -> None:
        self.service.stop()


class GatewayProcess:
    def __init__(
        self,
        workdir: Path,
        broker: Broker,
        accounts: Accounts,
        *,
        gateway_id: str,
        home_id: str,
        serial_devices: dict[str, str | dict[str, str]],
        z2m_devices: dict[str, str],
        home_broker: Broker | None = None,
        resend_interval_s: float = 10.0,
        fall_cancel_window_s: float = 30.0,
        serial_heartbeat_s: float = 150.0,
        ha_discovery: bool = False,
    ) -> None:
        self.gateway_id = gateway_id
        self.data_dir = workdir / f"gateway-{gateway_id}"
        env = {
            "GATEWAY_ID": gateway_id,
            "GATEWAY_HOME_ID": home_id,
            "GATEWAY_DATA_DIR": str(self.data_dir),
            "GATEWAY_MQTT_HOST": broker.host,
            "GATEWAY_MQTT_PORT": str(broker.port),
            "GATEWAY_MQTT_PASSWORD": accounts.for_gateway(gateway_id),
            "GATEWAY_SERIAL_DEVICES": json.dumps(serial_devices),
            "GATEWAY_Z2M_ENABLED": "true" if z2m_devices else "false",
            "GATEWAY_Z2M_HOST": (home_broker or broker).host,
            "GATEWAY_Z2M_PORT": str((home_broker or broker).port),
            "GATEWAY_Z2M_USERNAME": "gateway",
            "GATEWAY_Z2M_PASSWORD": accounts.home_gateway,
            "GATEWAY_Z2M_DEVICES": json.dumps(z2m_devices),
            "GATEWAY_RESEND_INTERVAL_S": str(resend_interval_s),
            "GATEWAY_FALL_CANCEL_WINDOW_S": str(fall_cancel_window_s),
            "GATEWAY_SERIAL_HEARTBEAT_S": str(serial_heartbeat_s),
            "GATEWAY_HA_DISCOVERY": "true" if ha_discovery else "false",
        }
        self.service = python_service(f"gateway-{gateway_id}", ["gateway"], workdir, env)

    def start(self) -> GatewayProcess:
        self.service.start()
        return self

    def stop(self) -> None:
        self.service.stop()
