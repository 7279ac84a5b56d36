"""The server's MQTT connection: a shared subscription on every gateway's uplink, and the
downlink (receipts, commands) back to gateways.

Several server processes join the same ``$share`` group and the broker splits gateways'
messages between them; each process needs its own client id (``SERVER_INSTANCE``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy.exc import SQLAlchemyError

from protocol import Channel, CommandMessage, encode
from protocol.mqtt import BrokerEndpoint, connect_in_background, new_client, stop
from protocol.topics import SHARED_UPLINK_FILTER, TopicName
from server.ingest.handler import UplinkHandler
from server.live import LiveHub

log = logging.getLogger(__name__)
# No persistent session. A stopped member of a shared subscription that keeps its session still
# gets its round-robin share queued at the broker, so a server that is down (or removed for
# good) would sit on a share of the alarms. Without a session the broker sends everything to
# the members that are up; with none up, the gateways' outboxes keep resending until one is.
SESSION_EXPIRY_S = 0


class BrokerLink:
    def __init__(
        self, endpoint: BrokerEndpoint, instance: str, handler: UplinkHandler, hub: LiveHub
    ) -> None:
        self._endpoint = endpoint
        self._handler = handler
        self._hub = hub
        self.connected = threading.Event()
        self.handler_failures = 0
        self._client = new_client(f"server-{instance}", endpoint)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def start(self) -> None:
        connect_in_background(self._client, self._endpoint, session_expiry_s=SESSION_EXPIRY_S)

    def stop(self) -> None:
        stop(self._client)

    def send_command(self, command: CommandMessage) -> bool:
        """QoS 1 to the gateway's persistent session; the broker holds it if it is away."""
        topic = str(TopicName(command.gateway_id, Channel.COMMAND))
        info = self._client.publish(topic, encode(command), qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def publish(self, topic: str, payload: bytes) -> bool:
        """QoS 1 on the server's connection (responder notifications); paho queues it and
        returns at once."""
        info = self._client.publish(topic, payload, qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the server's connection: %s", reason)
            return
        client.subscribe(SHARED_UPLINK_FILTER, qos=1)
        self.connected.set()
        log.info("ingest connected, subscribed to %s", SHARED_UPLINK_FILTER)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        log.warning("ingest disconnected from the broker: %s", reason)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            out = self._handler.handle(msg.topic, bytes(msg.payload))
        except SQLAlchemyError:
            # No receipt goes out, so the gateway keeps the alarm and sends it again.
            self.handler_failures += 1
            log.exception("store failed for a message on %s; the gateway will resend", msg.topic)
            return
        except Exception:
            # This is the only thread that ingests: whatever one message does, it must live on.
            self.handler_failures += 1
            log.exception("ingest failed on a message on %s; no receipt sent", msg.topic)
            return
        for topic, payload in out.publish:
            client.publish(topic, payload, qos=1)
        for event in out.live:
            self._hub.publish(event)
