"""A real mosquitto on a loopback port, with password file and the production ACL.

The ACL is ``deploy/mosquitto/acl``, the very file a centre deploys, so the tests prove the
rules the field runs with. Passwords are generated per run and written with
``mosquitto_passwd`` (never hand-rolled hashes).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from paho.mqtt.enums import MQTTErrorCode

from onebox import REPO
from onebox.certificates import ServerCertificate
from onebox.net import free_port, port_open, wait_for
from onebox.process import Service
from protocol.mqtt import BrokerEndpoint, BrokerTls, new_client


def can_log_in(
    host: str,
    port: int,
    username: str,
    password: str,
    tls: BrokerTls | None = None,
    *,
    answer_within_s: float = 10.0,
) -> bool:
    """One synchronous MQTT v5 connect: does the broker accept these credentials (and, with
    ``tls``, does this client accept the broker's certificate) now?

    Waits for the broker's answer (CONNACK) up to ``answer_within_s``: a refusal closes the
    connection at once, an acceptance can take more than a second on a loaded machine (one
    wait of a second made a TLS login look refused under CI load)."""
    endpoint = BrokerEndpoint(host, port, username, password, tls=tls)
    client = new_client(f"probe-{username}", endpoint)
    try:
        reason = client.connect(host, port, keepalive=5)
    except (OSError, ValueError):  # ssl.SSLError (a certificate refused) is an OSError
        return False
    try:
        if reason != 0:
            return False
        deadline = time.monotonic() + answer_within_s
        while not client.is_connected() and time.monotonic() < deadline:
            if client.loop(timeout=0.2) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return False  # refused: the broker closed the connection
        return client.is_connected()
    finally:
        client.disconnect()


CENTRE_ACL = REPO / "deploy" / "mosquitto" / "acl"
HOME_ACL = REPO / "deploy" / "mosquitto" / "home" / "acl"


class Broker:
    """mosquitto with one account per name in ``accounts`` (username -> password).

    With ``tls`` a second listener, on ``tls_port``, speaks MQTT over TLS with that
    certificate; the plain one stays for the fixtures' own account checks.

    The store is saved once a second, as deploy/mosquitto/mosquitto.conf does for the centre;
    ``save_every_change`` saves it after every change instead, as the home broker does
    (deploy/mosquitto/home/mosquitto.conf): see that file for why the two differ.
    """

    def __init__(
        self,
        workdir: Path,
        accounts: dict[str, str],
        *,
        acl: Path = CENTRE_ACL,
        port: int | None = None,
        tls: ServerCertificate | None = None,
        save_every_change: bool | None = None,
    ) -> None:
        self.acl = acl
        self.save_every_change = acl == HOME_ACL if save_every_change is None else save_every_change
        self.workdir = workdir
        self.accounts = dict(accounts)
        self.port = port or free_port()
        self.tls = tls
        self.tls_port = free_port() if tls is not None else None
        self.host = "127.0.0.1"
        self.service: Service | None = None

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir(exist_ok=True)
        passwd = self.workdir / "passwd"
        passwd.unlink(missing_ok=True)
        passwd.touch(mode=0o600)
        tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        for username, password in self.accounts.items():
            subprocess.run([tool, "-b", str(passwd), username, password], check=True)
        shutil.copyfile(self.acl, self.workdir / "acl")
        lines = [
            "per_listener_settings false",
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {passwd}",
            f"acl_file {self.workdir / 'acl'}",
            "persistence true",
            f"persistence_location {self.workdir / 'data'}/",
            "autosave_interval 1",
            f"autosave_on_changes {'true' if self.save_every_change else 'false'}",
            "log_dest stderr",  # stdout is block-buffered: a crash would lose the last lines
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "max_queued_messages 100000",
            "set_tcp_nodelay true",  # small alarm messages must not wait for Nagle
        ]
        if self.tls is not None:
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {self.tls.ca_file}",
                f"certfile {self.tls.certfile}",
                f"keyfile {self.tls.keyfile}",
            ]
        if os.geteuid() == 0:
            lines.append("user root")  # otherwise it drops to 'mosquitto' and cannot persist
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> Broker:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise FileNotFoundError(
                "mosquitto is not installed (Debian: apt-get install mosquitto)"
            )
        conf = self._write_config()
        self.service = Service(
            "mosquitto", [binary, "-c", str(conf)], self.workdir / "mosquitto.log"
        )
        self.service.start()
        wait_for(self._ready, 10, f"mosquitto on port {self.port}")
        return self

    def _ready(self) -> bool:
        assert self.service is not None
        self.service.check_alive()
        return port_open(self.port) and (self.tls_port is None or port_open(self.tls_port))

    def add_account(self, username: str, password: str) -> None:
        """Provision one more account on the running broker (``mosquitto_passwd``, SIGHUP)."""
        tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        subprocess.run([tool, "-b", str(self.workdir / "passwd"), username, password], check=True)
        self.accounts[username] = password
        assert self.service is not None
        assert self.service.proc is not None
        self.service.proc.send_signal(signal.SIGHUP)
        wait_for(
            lambda: can_log_in(self.host, self.port, username, password),
            10,
            f"mosquitto to accept {username}",
        )

    def add_accounts(self, accounts: dict[str, str]) -> None:
        """Provision many accounts at once (a simulated fleet): one ``mosquitto_passwd -U``
        over a plain-text file, appended to the password file, one SIGHUP."""
        tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        batch = self.workdir / "passwd.batch"
        batch.touch(mode=0o600)
        batch.write_text("".join(f"{user}:{password}\n" for user, password in accounts.items()))
        subprocess.run([tool, "-U", str(batch)], check=True)
        with (self.workdir / "passwd").open("a") as passwd:
            passwd.write(batch.read_text())
        batch.unlink()
        self.accounts.update(accounts)
        assert self.service is not None
        assert self.service.proc is not None
        self.service.proc.send_signal(signal.SIGHUP)
        last_user, last_password = list(accounts.items())[-1]
        wait_for(
            lambda: can_log_in(self.host, self.port, last_user, last_password),
            10,
            f"mosquitto to accept {len(accounts)} accounts",
        )

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()

    def kill(self) -> None:
        if self.service is not None:
            self.service.kill()
