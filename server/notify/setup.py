"""The centre's notification channels, built from the settings, the store and the broker link."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from server.ingest.broker import BrokerLink
from server.notify.composite import CompositeNotifier
from server.notify.mqtt import MqttSender
from server.notify.secret_box import SecretBox
from server.notify.stored_channels import StoredDirectory
from server.notify.stored_deliveries import StoredDeliveryLog
from server.notify.webhook import WebhookSender


class NotifyChannels:
    """MQTT through the server's own broker connection (when it has one) and the webhook
    worker, behind one ``CompositeNotifier``; channels read from the store (``directory``,
    invalidated by the API on every change), their secrets sealed and opened by ``secrets``,
    every attempt recorded in ``deliveries``."""

    def __init__(
        self,
        public_url: str,
        broker: BrokerLink | None,
        sessions: sessionmaker[Session],
        secrets: SecretBox,
    ) -> None:
        self.secrets = secrets
        self.deliveries = StoredDeliveryLog(sessions)
        self.directory = StoredDirectory(sessions, secrets, mqtt_for_all=broker is not None)
        self.webhooks = WebhookSender(self.deliveries)
        mqtt = MqttSender(broker.publish, self.deliveries) if broker is not None else None
        self.notifier = CompositeNotifier(
            self.directory, public_url, mqtt=mqtt, webhooks=self.webhooks
        )

    def start(self) -> None:
        self.webhooks.start()

    def stop(self) -> None:
        self.webhooks.stop()
