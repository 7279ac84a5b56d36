"""The MQTT channel: one topic per responder, published through the server's broker link.

QoS 1 to a topic only the responder's own account may read (deploy/mosquitto/acl). paho
queues the message and returns at once, so this never blocks the engine; a responder app
that keeps a persistent session gets notifications sent while it was offline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from server.notify.channels import MqttChannel, responder_topic
from server.notify.deliveries import Delivery, DeliveryLog
from server.notify.message import Notification

log = logging.getLogger(__name__)
Publish = Callable[[str, bytes], bool]  # topic, payload -> queued for the broker


class MqttSender:
    def __init__(
        self,
        publish: Publish,
        deliveries: DeliveryLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._publish = publish
        self.deliveries = deliveries
        self._clock = clock

    def send(self, notification: Notification, channel: MqttChannel) -> None:
        topic = responder_topic(channel.account)
        payload = json.dumps(notification.to_json(), separators=(",", ":")).encode()
        queued = self._publish(topic, payload)
        now = self._clock()
        # "delivered" means handed to the broker link: MQTT has no receipt from the person.
        pending = Delivery.pending(notification, "mqtt", topic, channel.channel_id, now)
        if queued:
            self.deliveries.save(pending.attempted("delivered", None, None, now))
        else:
            self.deliveries.save(
                pending.attempted("failed", None, "broker link not connected", now)
            )
            log.warning("notification %s not published on %s", notification.id, topic)
