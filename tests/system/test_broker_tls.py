"""MQTT over TLS on a real mosquitto: a throwaway CA and a loopback server certificate made
with ``openssl``, the server and a real gateway process both connecting with the CA in their
settings (``SERVER_MQTT_TLS``/``_CA_FILE``, ``GATEWAY_MQTT_TLS``/``_CA_FILE``), a button press
raising an alarm at the centre through it; and clients that do not trust that CA, or do not
speak TLS, refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from firmware_sim.ports import PtyPort
from firmware_sim.serial_device import CallButton

from edge.serial.payloads import KeyKind
from onebox.broker import Broker, can_log_in
from onebox.certificates import ServerCertificate, issue_server_certificate, make_ca
from onebox.console_client import ConsoleClient
from onebox.net import wait_for
from onebox.stack import Accounts, GatewayProcess, ServerProcess
from protocol.mqtt import BrokerTls

GATEWAY = "gw-tls-1"
BUTTON = "call-button-tls"
PASSWORD = secrets.token_urlsafe(12)


@pytest.fixture
def certificate(tmp_path: Path) -> ServerCertificate:
    return issue_server_certificate(tmp_path / "pki")


@pytest.fixture
def tls_broker(
    tmp_path: Path, accounts: Accounts, certificate: ServerCertificate
) -> Iterator[Broker]:
    accounts_here = {"server": accounts.server, GATEWAY: accounts.for_gateway(GATEWAY)}
    broker = Broker(tmp_path / "mosquitto", accounts_here, tls=certificate).start()
    yield broker
    broker.stop()


@pytest.fixture
def server(
    tmp_path: Path, tls_broker: Broker, accounts: Accounts, certificate: ServerCertificate
) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path, tls_broker, accounts, admin_password=PASSWORD)
    process.service.env |= {
        "SERVER_MQTT_PORT": str(tls_broker.tls_port),
        "SERVER_MQTT_TLS": "true",
        "SERVER_MQTT_CA_FILE": str(certificate.ca_file),
    }
    process.start()  # ready only once its broker link is up: over TLS
    yield process
    process.stop()
    process.service.assert_clean()


def test_a_gateway_and_the_server_speak_tls_and_an_alarm_goes_through(
    tmp_path: Path,
    tls_broker: Broker,
    accounts: Accounts,
    certificate: ServerCertificate,
    server: ServerProcess,
) -> None:
    port = PtyPort(tmp_path / "ttyTLS0")
    gateway = GatewayProcess(
        tmp_path,
        tls_broker,
        accounts,
        gateway_id=GATEWAY,
        home_id="home-tls",
        serial_devices={BUTTON: str(port.link)},
        z2m_devices={},
    )
    gateway.service.env |= {
        "GATEWAY_MQTT_PORT": str(tls_broker.tls_port),
        "GATEWAY_MQTT_TLS": "true",
        "GATEWAY_MQTT_CA_FILE": str(certificate.ca_file),
    }
    gateway.start()
    button = CallButton(port, heartbeat_s=5)
    console = ConsoleClient(server.url, "operator", PASSWORD)
    try:
        button.start()
        assert button.link_up.wait(20), gateway.service.tail()
        button.press(KeyKind.EMERGENCY)
        wait_for(
            lambda: any(a["device_id"] == BUTTON for a in console.alarms()),
            30,
            "the alarm at the centre",
        )
        [alarm] = [a for a in console.alarms() if a["device_id"] == BUTTON]
        assert (alarm["gateway_id"], alarm["kind"]) == (GATEWAY, "emergency_call")
    finally:
        console.close()
        button.stop()
        gateway.stop()
        port.close()
    gateway.service.assert_clean()
    log = (tls_broker.workdir / "mosquitto.log").read_text(errors="replace")
    assert f"on port {tls_broker.tls_port}" in log  # it did listen with TLS there


def test_a_client_that_does_not_trust_the_ca_or_speaks_plain_mqtt_is_refused(
    tmp_path: Path, tls_broker: Broker, accounts: Accounts, certificate: ServerCertificate
) -> None:
    assert tls_broker.tls_port is not None
    host, port, password = tls_broker.host, tls_broker.tls_port, accounts.for_gateway(GATEWAY)
    assert can_log_in(host, port, GATEWAY, password, BrokerTls(ca_file=certificate.ca_file))
    other_ca, _ = make_ca(tmp_path / "other-ca", "Someone else's CA")
    for untrusting in (BrokerTls(ca_file=None), BrokerTls(ca_file=other_ca)):  # system CAs
        assert not can_log_in(host, port, GATEWAY, password, untrusting), untrusting
    assert not can_log_in(host, port, GATEWAY, password)  # no TLS at all
    # Trusting the CA is not enough without the right password.
    assert not can_log_in(host, port, GATEWAY, "wrong", BrokerTls(ca_file=certificate.ca_file))
