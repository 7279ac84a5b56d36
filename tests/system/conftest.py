"""Fixtures for whole-chain tests on real components, built on each other:

broker (mosquitto) -> PostgreSQL cluster (tests/conftest.py) -> server process (per store) ->
a home (gateway process, a call button on a real pty, a Zigbee2MQTT SOS button on the broker).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from firmware_sim.fleet import Fleet, FleetConfig, gateway_ids
from firmware_sim.ports import PtyPort
from firmware_sim.serial_device import BedSensor, CallButton, Pendant
from firmware_sim.zigbee import SosButton, Zigbee2MqttNetwork

from onebox.broker import HOME_ACL, Broker
from onebox.console_client import ConsoleClient, LiveStream
from onebox.net import wait_for
from onebox.postgres import PostgresCluster
from onebox.stack import Accounts, GatewayProcess, ServerProcess
from protocol.mqtt import BrokerEndpoint

# The registered kind (``python -m edge.devices``) each simulated serial device is.
SERIAL_KIND: dict[type[CallButton], str] = {
    CallButton: "call_button",
    Pendant: "fall_pendant",
    BedSensor: "bed_sensor",
}

OPERATOR_PASSWORD = secrets.token_urlsafe(12)
_gateway_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def accounts() -> Accounts:
    return Accounts()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory, accounts: Accounts) -> Iterator[Broker]:
    started = Broker(tmp_path_factory.mktemp("mosquitto"), accounts.broker_accounts()).start()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def home_broker(tmp_path_factory: pytest.TempPathFactory, accounts: Accounts) -> Iterator[Broker]:
    """The homes' own broker, where Zigbee2MQTT and the gateway meet (not the centre's)."""
    started = Broker(
        tmp_path_factory.mktemp("home-mosquitto"), accounts.home_broker_accounts(), acl=HOME_ACL
    ).start()
    yield started
    started.stop()


@dataclass
class Centre:
    process: ServerProcess
    console: ConsoleClient
    store: str

    @property
    def url(self) -> str:
        return self.process.url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def centre(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    broker: Broker,
    accounts: Accounts,
) -> Iterator[Centre]:
    database_url = None
    if request.param == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        database_url = cluster.create_database(f"centre_{secrets.token_hex(4)}")
    workdir = tmp_path_factory.mktemp(f"centre-{request.param}")
    # The centre may register gateways as an installer does (a home keeps away periods only
    # in a configured gateway's setup); the credentials it issues go to a file that no broker
    # reads: the tests' gateways have their accounts from onebox.
    issued = {
        "SERVER_MOSQUITTO_PASSWORD_FILE": str(workdir / "issued-gateway-accounts"),
        "SERVER_MOSQUITTO_RELOAD_COMMAND": "true",
    }
    process = ServerProcess(
        workdir,
        broker,
        accounts,
        database_url=database_url,
        admin_password=OPERATOR_PASSWORD,
        settings=issued,
    ).start()
    console = ConsoleClient(process.url, "operator", OPERATOR_PASSWORD)
    yield Centre(process, console, request.param)
    console.close()
    process.stop()
    process.service.assert_clean()


@pytest.fixture
def live(centre: Centre) -> Iterator[LiveStream]:
    stream = LiveStream(centre.url, centre.console.token).start()
    yield stream
    stream.stop()


@pytest.fixture
def zigbee(home_broker: Broker, accounts: Accounts) -> Iterator[Zigbee2MqttNetwork]:
    network = Zigbee2MqttNetwork(
        BrokerEndpoint(home_broker.host, home_broker.port, "zigbee2mqtt", accounts.zigbee2mqtt)
    )
    network.start()
    assert network.connected.wait(10)
    yield network
    network.stop()


@dataclass
class Home:
    gateway_id: str
    gateway: GatewayProcess
    button_id: str
    button: CallButton
    port: PtyPort
    sos_name: str
    sos: SosButton


@pytest.fixture
def home(
    tmp_path: Path,
    broker: Broker,
    home_broker: Broker,
    accounts: Accounts,
    centre: Centre,
    zigbee: Zigbee2MqttNetwork,
) -> Iterator[Home]:
    """A gateway process with a call button on a pty and an SOS button, both seen online."""
    number = next(_gateway_numbers)
    gateway_id = f"gw-test-{number:03d}"
    broker.add_account(gateway_id, accounts.for_gateway(gateway_id))
    port = PtyPort(tmp_path / "ttyCALL0")
    button_id, sos_name = f"call-button-{number}", f"sos-{number}"
    sos = SosButton(zigbee, sos_name)
    sos.announce()  # retained availability: the gateway sees it when it subscribes
    gateway = GatewayProcess(
        tmp_path,
        broker,
        accounts,
        gateway_id=gateway_id,
        home_id=f"home-{number:03d}",
        serial_devices={button_id: str(port.link)},
        z2m_devices={sos_name: "sos_button"},
        home_broker=home_broker,
    ).start()
    button = CallButton(port, heartbeat_s=5)
    button.start()
    try:
        assert button.link_up.wait(20), gateway.service.tail()
        wait_for(lambda: _sos_online(centre.console, sos_name), 20, f"{sos_name} online")
        yield Home(gateway_id, gateway, button_id, button, port, sos_name, sos)
    finally:
        button.stop()
        gateway.stop()
        port.close()
    gateway.service.assert_clean()


def _sos_online(console: ConsoleClient, device_id: str) -> bool:
    events = console.get("/api/device-events", limit=1000)
    return any(e["device_id"] == device_id and e["kind"] == "device_online" for e in events)


@dataclass
class SerialHome:
    gateway_id: str
    device_id: str
    gateway: GatewayProcess
    port: PtyPort


@pytest.fixture
def serial_home(
    tmp_path: Path, broker: Broker, accounts: Accounts, centre: Centre
) -> Iterator[Callable[..., tuple[SerialHome, Any]]]:
    """Factory: a gateway process for a new home with one simulated serial device on a pty.

    ``make(device_cls, name, device_heartbeat_s=..., **gateway_settings)`` returns the home
    and the started device once its heartbeat has been answered; everything is stopped after
    the test, which fails if the gateway logged a problem.
    """
    made: list[tuple[SerialHome, Any]] = []

    def make(
        device_cls: type[CallButton], name: str, device_heartbeat_s: float = 5.0, **settings: Any
    ) -> tuple[SerialHome, Any]:
        number = next(_gateway_numbers)
        gateway_id, device_id = f"gw-{name}-{number}", f"{name}-{number}-{centre.store}"
        broker.add_account(gateway_id, accounts.for_gateway(gateway_id))
        port = PtyPort(tmp_path / f"tty-{name}-{number}")
        gateway = GatewayProcess(
            tmp_path,
            broker,
            accounts,
            gateway_id=gateway_id,
            home_id=f"home-{name}",
            serial_devices={device_id: {"port": str(port.link), "kind": SERIAL_KIND[device_cls]}},
            z2m_devices={},
            **settings,
        ).start()
        device = device_cls(port, heartbeat_s=device_heartbeat_s)
        home = SerialHome(gateway_id, device_id, gateway, port)
        made.append((home, device))
        device.start()
        assert device.link_up.wait(20), gateway.service.tail()
        return home, device

    yield make
    for home, device in made:
        device.stop()
        home.gateway.stop()
        home.port.close()
    for home, _ in made:
        home.gateway.service.assert_clean()


def start_fleet(
    broker: Broker, accounts: Accounts, homes: int, prefix: str, **config: Any
) -> Fleet:
    """``homes`` simulated gateways on ``broker``, each with its own account (the production
    ACL confines a gateway to its own topics); ``config``: the rest of ``FleetConfig``."""
    ids = gateway_ids(homes, prefix=prefix)
    broker.add_accounts({gid: accounts.for_gateway(gid) for gid in ids})
    return Fleet(FleetConfig(broker.host, broker.port, ids, accounts.for_gateway, **config)).start()
