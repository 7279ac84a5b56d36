"""A family's Home Assistant on the home broker: a real mosquitto with the home ACL, a gateway
process with discovery on, and an MQTT client in Home Assistant's place (its account, its
birth message). Discovery is retained and valid, sent again on Home Assistant's birth, the
gateway's will makes every entity unavailable, a silent device turns offline and an alarm
shows as the last alarm."""

from __future__ import annotations

import json
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from firmware_sim.ports import PtyPort
from firmware_sim.serial_device import CallButton
from firmware_sim.zigbee import Zigbee2MqttNetwork

from onebox.broker import Broker
from onebox.net import wait_for
from onebox.stack import Accounts, GatewayProcess
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop

HA_USER = "homeassistant"
SOS_IEEE = "0x00158d0001d82999"
HEARTBEAT_S = 1.0  # the gateway's expectation: a silent device is offline after 2 s


class HomeAssistantStandIn:
    """Subscribes where Home Assistant does; keeps every message with its retain flag."""

    def __init__(self, endpoint: BrokerEndpoint, name: str) -> None:
        self.messages: dict[str, list[tuple[bytes, bool]]] = defaultdict(list)
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = new_client(f"ha-stand-in-{name}", endpoint)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self._endpoint = endpoint

    def _on_connect(self, client: mqtt.Client, *_args: object) -> None:
        client.subscribe([("homeassistant/#", 1), ("eldercare_home/#", 1)])

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages[msg.topic].append((bytes(msg.payload), bool(msg.retain)))

    def start(self) -> HomeAssistantStandIn:
        connect_in_background(self.client, self._endpoint, session_expiry_s=0)
        assert self.subscribed.wait(10)
        return self

    def stop(self) -> None:
        stop(self.client)

    def all(self, topic: str) -> list[tuple[bytes, bool]]:
        with self._lock:
            return list(self.messages.get(topic, []))

    def last(self, topic: str) -> bytes | None:
        seen = self.all(topic)
        return seen[-1][0] if seen else None

    def last_json(self, topic: str) -> Any:
        payload = self.last(topic)
        return None if payload is None else json.loads(payload)

    def birth(self) -> None:
        """Home Assistant's MQTT integration (re)starting."""
        self.client.publish("homeassistant/status", "online", qos=1).wait_for_publish(5)


@pytest.fixture
def ha_endpoint(home_broker: Broker) -> BrokerEndpoint:
    if HA_USER not in home_broker.accounts:
        home_broker.add_account(HA_USER, secrets.token_urlsafe(18))
    return BrokerEndpoint(
        home_broker.host, home_broker.port, HA_USER, home_broker.accounts[HA_USER]
    )


@pytest.fixture
def home_assistant(ha_endpoint: BrokerEndpoint) -> Iterator[HomeAssistantStandIn]:
    stand_in = HomeAssistantStandIn(ha_endpoint, secrets.token_hex(4)).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def ha_gateway(
    tmp_path: Path, broker: Broker, home_broker: Broker, accounts: Accounts
) -> Iterator[Callable[..., GatewayProcess]]:
    """Factory: a gateway process with Home Assistant discovery on; checked for problems."""
    started: list[GatewayProcess] = []

    def make(gateway_id: str, **settings: Any) -> GatewayProcess:
        broker.add_account(gateway_id, accounts.for_gateway(gateway_id))
        settings = {"serial_devices": {}, "z2m_devices": {}} | settings
        gateway = GatewayProcess(
            tmp_path,
            broker,
            accounts,
            gateway_id=gateway_id,
            home_id=f"home-{gateway_id}",
            home_broker=home_broker,
            ha_discovery=True,
            **settings,
        ).start()
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.stop()
    for gateway in started:
        gateway.service.assert_clean()


def _config_topic(component: str, object_id: str) -> str:
    return f"homeassistant/{component}/eldercare/{object_id}/config"


def test_home_assistant_sees_the_gateway_its_devices_and_an_alarm(
    tmp_path: Path,
    zigbee: Zigbee2MqttNetwork,
    ha_endpoint: BrokerEndpoint,
    home_assistant: HomeAssistantStandIn,
    ha_gateway: Callable[..., GatewayProcess],
) -> None:
    gw, button_id, sos = "gw-ha-1", "call-button-ha", "sos-ha"
    # Zigbee2MQTT's retained list of paired devices names the SOS button's IEEE address.
    listing = [{"friendly_name": sos, "ieee_address": SOS_IEEE, "definition": {"model": "x"}}]
    devices_topic = "zigbee2mqtt/bridge/devices"
    zigbee.client.publish(devices_topic, json.dumps(listing), qos=1, retain=True).wait_for_publish(
        5
    )
    port = PtyPort(tmp_path / "ttyHA0")
    gateway = ha_gateway(
        gw,
        serial_devices={button_id: str(port.link)},
        z2m_devices={sos: "sos_button"},
        serial_heartbeat_s=HEARTBEAT_S,
    )
    button = CallButton(port, heartbeat_s=HEARTBEAT_S / 4)
    button.start()
    try:
        assert button.link_up.wait(20), gateway.service.tail()
        _check_discovery(home_assistant, ha_endpoint, gateway, gw, button_id, sos)

        # Home Assistant restarts: its birth message brings every config again.
        centre_config = _config_topic("binary_sensor", f"{gw}_centre")
        sent_before = len(home_assistant.all(centre_config))
        home_assistant.birth()
        wait_for(lambda: len(home_assistant.all(centre_config)) > sent_before, 20, "rediscovery")

        alarm_topic = f"eldercare_home/{gw}/alarm"
        button.press()
        wait_for(
            lambda: (home_assistant.last_json(alarm_topic) or {}).get("kind") == "emergency_call",
            20,
            "the call as the last alarm",
        )
        alarm = home_assistant.last_json(alarm_topic)
        assert (alarm["open"], alarm["stage"], alarm["device_id"]) == (True, "raised", button_id)

        button.stop()  # the battery dies
        device_topic = f"eldercare_home/{gw}/device/{button_id}"
        wait_for(
            lambda: home_assistant.last_json(device_topic)["state"] == "offline",
            20,
            "the silent button offline",
        )
    finally:
        button.stop()
        gateway.stop()
        port.close()
        zigbee.client.publish(devices_topic, b"", qos=1, retain=True).wait_for_publish(5)


def _check_discovery(
    home_assistant: HomeAssistantStandIn,
    ha_endpoint: BrokerEndpoint,
    gateway: GatewayProcess,
    gw: str,
    button_id: str,
    sos: str,
) -> None:
    expected = [
        _config_topic("binary_sensor", f"{gw}_centre"),
        _config_topic("binary_sensor", f"{gw}_alarm_open"),
        _config_topic("sensor", f"{gw}_last_alarm"),
        _config_topic("sensor", f"{gw}_last_alarm_progress"),
        _config_topic("sensor", f"{gw}_last_alarm_time"),
        _config_topic("binary_sensor", f"{gw}_{button_id}_supervision"),
        _config_topic("sensor", f"{gw}_{button_id}_battery"),
        _config_topic("binary_sensor", f"{gw}_{sos}_supervision"),
    ]
    wait_for(
        lambda: all(home_assistant.last(t) for t in expected),
        20,
        f"every discovery config ({gateway.service.tail()})",
    )
    for topic in expected:
        config = home_assistant.last_json(topic)
        assert config["unique_id"] == topic.split("/")[3]
        assert config["availability"][0]["topic"] == f"eldercare_home/{gw}/status"
    mine = [t for t in home_assistant.messages if t.startswith("homeassistant/") and gw in t]
    assert sorted(mine) == sorted(expected)  # nothing for the Zigbee button's own sensors
    # The Zigbee button's supervision joins the device Zigbee2MQTT's discovery made.
    sos_config = expected[-1]
    wait_for(
        lambda: (
            home_assistant.last_json(sos_config)["device"]["identifiers"]
            == [f"zigbee2mqtt_{SOS_IEEE}"]
        ),
        20,
        "the SOS button's Zigbee2MQTT device",
    )
    # Retained: a Home Assistant that subscribes later gets them all at once.
    late = HomeAssistantStandIn(ha_endpoint, "late").start()
    try:
        wait_for(lambda: all(late.all(t) for t in expected), 10, "retained configs")
        assert all(late.all(t)[0][1] for t in expected)
    finally:
        late.stop()
    wait_for(lambda: home_assistant.last(f"eldercare_home/{gw}/status") == b"online", 10, "online")
    wait_for(lambda: home_assistant.last(f"eldercare_home/{gw}/centre") == b"ON", 20, "centre link")
    device_topic = f"eldercare_home/{gw}/device/{button_id}"
    wait_for(
        lambda: (home_assistant.last_json(device_topic) or {}).get("battery") == 90,
        20,
        "the button heard, with its battery",
    )
    assert home_assistant.last_json(device_topic)["state"] == "ok"
    assert home_assistant.last_json(f"eldercare_home/{gw}/alarm")["kind"] == "none"


def test_the_gateways_will_makes_its_entities_unavailable(
    ha_endpoint: BrokerEndpoint,
    home_assistant: HomeAssistantStandIn,
    ha_gateway: Callable[..., GatewayProcess],
) -> None:
    gateway = ha_gateway("gw-ha-2")
    status = "eldercare_home/gw-ha-2/status"
    wait_for(lambda: home_assistant.last(status) == b"online", 20, gateway.service.tail())
    gateway.service.kill()  # no clean goodbye: the broker publishes the will
    wait_for(lambda: home_assistant.last(status) == b"offline", 20, "the will")
    # Retained: a Home Assistant starting now shows the entities unavailable too.
    late = HomeAssistantStandIn(ha_endpoint, "after-will").start()
    try:
        wait_for(lambda: late.all(status) == [(b"offline", True)], 10, "the retained will")
    finally:
        late.stop()
