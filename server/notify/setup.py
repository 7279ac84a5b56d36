"""The centre's notification channels, built from the settings and the broker link."""

from __future__ import annotations

from server.ingest.broker import BrokerLink
from server.notify.channels import ChannelDirectory, StaticDirectory
from server.notify.composite import CompositeNotifier
from server.notify.deliveries import MemoryDeliveryLog
from server.notify.mqtt import MqttSender
from server.notify.webhook import WebhookSender


class NotifyChannels:
    """MQTT through the server's own broker connection (when it has one) and the webhook
    worker, behind one ``CompositeNotifier``; deliveries recorded in ``deliveries``."""

    def __init__(
        self,
        public_url: str,
        broker: BrokerLink | None,
        directory: ChannelDirectory | None = None,
    ) -> None:
        self.deliveries = MemoryDeliveryLog()
        self.webhooks = WebhookSender(self.deliveries)
        mqtt = MqttSender(broker.publish, self.deliveries) if broker is not None else None
        self.notifier = CompositeNotifier(
            directory or StaticDirectory(mqtt_for_all=broker is not None),
            public_url,
            mqtt=mqtt,
            webhooks=self.webhooks,
        )

    def start(self) -> None:
        self.webhooks.start()

    def stop(self) -> None:
        self.webhooks.stop()
