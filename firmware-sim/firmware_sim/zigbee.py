"""Simulated Zigbee2MQTT devices: the payloads Zigbee2MQTT publishes, on its topics.

A Tuya SOS button (TS0215A_sos) press appears as
``zigbee2mqtt/<name>`` ``{"action":"emergency","battery":80,"linkquality":144}``, often
followed by ``{"action":""}`` (Zigbee2MQTT clearing the action for Home Assistant).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishedPress:
    device_id: str
    written_at: float  # wall clock when the payload was handed to the broker connection


class Zigbee2MqttNetwork:
    """One simulated Zigbee2MQTT instance: its broker connection and bridge state."""

    def __init__(self, endpoint: BrokerEndpoint, *, base_topic: str = "zigbee2mqtt") -> None:
        self.base = base_topic
        self._endpoint = endpoint
        self.connected = threading.Event()
        self.client = new_client(f"zigbee2mqtt-sim-{time.monotonic_ns()}", endpoint)
        self.client.will_set(
            f"{base_topic}/bridge/state", '{"state":"offline"}', qos=1, retain=True
        )
        self.client.on_connect = self._on_connect

    def _on_connect(self, client: mqtt.Client, *_args: object) -> None:
        client.publish(f"{self.base}/bridge/state", '{"state":"online"}', qos=1, retain=True)
        self.connected.set()

    def start(self) -> None:
        connect_in_background(self.client, self._endpoint, session_expiry_s=0)

    def stop(self) -> None:
        stop(self.client)

    def publish(
        self, friendly_name: str, payload: dict[str, object], *, retain: bool = False
    ) -> None:
        body = json.dumps(payload, separators=(",", ":"))
        info = self.client.publish(f"{self.base}/{friendly_name}", body, qos=1, retain=retain)
        try:
            info.wait_for_publish(5)
        except (RuntimeError, ValueError) as err:
            # Disconnected: paho keeps QoS 1 messages and sends them on reconnect.
            log.warning("publish to %s not confirmed yet: %s", friendly_name, err)

    def availability(self, friendly_name: str, online: bool) -> None:
        state = "online" if online else "offline"
        self.client.publish(
            f"{self.base}/{friendly_name}/availability",
            json.dumps({"state": state}),
            qos=1,
            retain=True,
        )


class SosButton:
    """Tuya TS0215A_sos as Zigbee2MQTT reports it."""

    model = "TS0215A_sos"

    def __init__(
        self,
        network: Zigbee2MqttNetwork,
        friendly_name: str,
        *,
        battery: int = 80,
        linkquality: int = 144,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.network = network
        self.friendly_name = friendly_name
        self.battery = battery
        self.linkquality = linkquality
        self._clock = clock

    def announce(self) -> None:
        self.network.availability(self.friendly_name, True)

    def press(self, *, clear_action: bool = True) -> PublishedPress:
        written_at = self._clock()
        self.network.publish(
            self.friendly_name,
            {"action": "emergency", "battery": self.battery, "linkquality": self.linkquality},
        )
        if clear_action:
            self.network.publish(self.friendly_name, {"action": ""})
        return PublishedPress(self.friendly_name, written_at)
