"""Simulated Zigbee2MQTT devices: the payloads Zigbee2MQTT publishes, on its topics.

The devices themselves (every kind, the SOS button's press) are in
:mod:`firmware_sim.zigbee_device` and :mod:`firmware_sim.zigbee_kinds`; this module is the
network they publish through. ``SosButton`` is re-exported for existing callers.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import paho.mqtt.client as mqtt

from firmware_sim.zigbee_device import PublishedPress, SosButton
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop

__all__ = ["PublishedPress", "SosButton", "Zigbee2MqttNetwork"]
log = logging.getLogger(__name__)


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
