"""The ``Notifier`` the centre runs: every channel configured for the responder.

It is a ``RecordingNotifier`` first (logs and keeps recent calls), so the console and the tests
see every call whatever the channels do. Operator alerts stay with it: operators watch the
console, where the ``alarm.escalated`` live event is the alert. A failing channel does not
stop the others.
"""

from __future__ import annotations

import logging

from server.dispatch.notifier import RecordingNotifier, ResponderCall
from server.notify.channels import ChannelDirectory, MqttChannel, WebhookChannel
from server.notify.message import Notification, accept_link
from server.notify.mqtt import MqttSender
from server.notify.webhook import WebhookSender

log = logging.getLogger(__name__)


class CompositeNotifier(RecordingNotifier):
    def __init__(
        self,
        directory: ChannelDirectory,
        public_url: str,
        *,
        mqtt: MqttSender | None,
        webhooks: WebhookSender | None,
    ) -> None:
        super().__init__()
        self.directory = directory
        self._public_url = public_url
        self._mqtt = mqtt
        self._webhooks = webhooks

    def call_responder(self, call: ResponderCall) -> None:
        super().call_responder(call)
        notification = Notification(call, accept_link(self._public_url, call.alarm_id))
        for channel in self.directory.channels_for(call.responder_id):
            try:
                self._send(notification, channel)
            except Exception:
                log.exception("notification %s: a channel failed", notification.id)

    def _send(self, notification: Notification, channel: MqttChannel | WebhookChannel) -> None:
        if isinstance(channel, MqttChannel):
            if self._mqtt is not None:
                self._mqtt.send(notification, channel)
        elif self._webhooks is not None:
            self._webhooks.send(notification, channel)
