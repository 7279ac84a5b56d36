"""A scenario played against a real mosquitto (the homes' broker, production home ACL): the
gateway's account sees exactly the messages the scenario plans, device by device."""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from firmware_sim.faults import FaultLog
from firmware_sim.scenario import RunOptions, load, run_scenario
from firmware_sim.zigbee import Zigbee2MqttNetwork
from firmware_sim.zigbee_record import RecordingNetwork

from onebox.broker import Broker
from onebox.net import wait_for
from onebox.stack import Accounts
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop

SCENARIO = """
[scenario]
name = "chaos afternoon"
start = 2024-03-04T14:00:00
seed = 3

[[device]]
name = "sc-sos"
kind = "sos_button"

[[device]]
name = "sc-radar"
kind = "fall_radar"

[[device]]
name = "sc-leak"
kind = "water_leak_sensor"

[[device]]
name = "sc-pir"
kind = "motion_sensor"

[[step]]
after = "1m"
device = "sc-pir"
set = { occupancy = true }

[[step]]
after = "5m"
device = "sc-radar"
set = { fall_down_status = "fall", presence = true }

[[step]]
after = "1m"
device = "sc-sos"
press = "emergency"

[[step]]
after = "10m"
device = "sc-sos"
fault = "phantom_press"
count = 2
every = "3h"

[[step]]
after = "1m"
device = "sc-leak"
fault = "battery_drain"
to = 8
over = "6h"
steps = 3

[[step]]
after = "1m"
device = "sc-pir"
fault = "silence"
offline = true
for = "2h"

[[step]]
wait = "8h"
"""


class Subscriber:
    """The home gateway's account: reads every Zigbee2MQTT topic, keeps payloads by topic."""

    def __init__(self, broker: Broker, password: str, names: set[str]) -> None:
        self.names = names
        self.by_topic: dict[str, list[str]] = defaultdict(list)
        self.count = 0
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        endpoint = BrokerEndpoint(broker.host, broker.port, "gateway", password)
        self.client = new_client("scenario-test-gateway", endpoint)
        self.client.on_connect = lambda c, *_: c.subscribe("zigbee2mqtt/#", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        connect_in_background(self.client, endpoint, session_expiry_s=0)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        device = msg.topic.removeprefix("zigbee2mqtt/").removesuffix("/availability")
        if device in self.names and not msg.retain:
            with self._lock:
                self.by_topic[msg.topic].append(msg.payload.decode())
                self.count += 1


def test_scenario_on_a_real_broker_publishes_what_it_plans(
    tmp_path: Path, home_broker: Broker, accounts: Accounts
) -> None:
    path = tmp_path / "chaos.toml"
    path.write_text(SCENARIO)
    scenario = load(path)
    names = {d.name for d in scenario.devices}

    planned = RecordingNetwork()
    planned_run = run_scenario(scenario, planned, RunOptions(speed=math.inf), FaultLog())
    expected: dict[str, list[str]] = defaultdict(list)
    for message in planned.messages:
        expected[message.topic].append(message.payload)

    subscriber = Subscriber(home_broker, accounts.home_gateway, names)
    network = Zigbee2MqttNetwork(
        BrokerEndpoint(home_broker.host, home_broker.port, "zigbee2mqtt", accounts.zigbee2mqtt)
    )
    faults = FaultLog()
    try:
        assert subscriber.subscribed.wait(10)
        network.start()
        assert network.connected.wait(10)
        result = run_scenario(scenario, network, RunOptions(speed=math.inf), faults)
        wait_for(lambda: subscriber.count >= len(planned.messages), 20, "every message")
    finally:
        network.stop()
        stop(subscriber.client)

    assert dict(subscriber.by_topic) == dict(expected)
    assert faults.by_kind() == {"phantom_press": 2, "battery": 3, "silent": 1, "resume": 1}
    assert result.faults == planned_run.faults
    emergencies = [p for p in expected["zigbee2mqtt/sc-sos"] if '"emergency"' in p]
    assert len(emergencies) == 3  # one real press, two phantoms
    assert expected["zigbee2mqtt/sc-pir/availability"][-2:] == [
        '{"state": "offline"}',
        '{"state": "online"}',
    ]
    assert '"battery_low":true' in expected["zigbee2mqtt/sc-leak"][-1]
