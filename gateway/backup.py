"""The backup receiving centre: a second broker, used only while the centre does not answer.

A telecare unit that cannot get its alarm acknowledged by its receiving centre calls a second
one. Here: when the centre has not confirmed an alarm for ``GATEWAY_UNDELIVERED_AFTER_S``, or
its broker refuses the gateway outright, the uplink opens this link to the backup centre's
broker and sends it every unconfirmed alarm as well: the same message, the same id, the same
topic. A receipt from either centre takes an alarm out of the outbox; each centre stores an
alarm once by its id, so an alarm that reaches both is one alarm at each.

Only alarms go to the backup, and only its receipts and commands (an operator's "help is
coming") come back. The home's status, heartbeats, telemetry and configuration stay with its
own centre: no will is set and no status is sent, so the backup never supervises, or reports
offline, a home it only stands in for. The uplink decides when to open and close this link
(:class:`gateway.uplink.Uplink`); this class only carries it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from protocol import (
    Channel,
    CommandMessage,
    DownlinkMessage,
    GatewayTopics,
    MessageRejected,
    ReceiptMessage,
    decode_downlink,
)
from protocol.mqtt import (
    BrokerEndpoint,
    connect_in_background,
    is_definitive_refusal,
    new_client,
    stop,
)

log = logging.getLogger(__name__)
# The backup broker keeps our session (and receipts sent while we reconnect) this long; it is
# only a stand-in, so not the week the centre's broker keeps it.
BACKUP_SESSION_EXPIRY_S = 3600


class BackupCentre:
    """One MQTT link to the backup centre's broker; opened by :meth:`engage`, closed by
    :meth:`release`. Both are called from the uplink's sender thread only."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        gateway_id: str,
        on_downlink: Callable[[DownlinkMessage], None],
        *,
        on_ready: Callable[[], None],
    ) -> None:
        self.endpoint = endpoint
        self.gateway_id = gateway_id
        self.topics = GatewayTopics(gateway_id)
        self._on_downlink = on_downlink
        self._on_ready = on_ready
        self._client: mqtt.Client | None = None
        self._refused = False  # one log line per refusal episode, not one per retry
        self.connected = threading.Event()
        self.engagements = 0
        self.receipts = 0  # receipts from the backup centre (repeats included)

    @property
    def engaged(self) -> bool:
        return self._client is not None

    def engage(self, why: str) -> None:
        """Open the link (paho connects and reconnects in the background)."""
        if self._client is not None:
            return
        self.engagements += 1
        self._refused = False
        log.warning(
            "%s: sending unconfirmed alarms to the backup centre %s:%d as well",
            why,
            self.endpoint.host,
            self.endpoint.port,
        )
        client = new_client(f"gateway-{self.gateway_id}", self.endpoint)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client  # before connecting: its callbacks check they are this link's
        connect_in_background(client, self.endpoint, session_expiry_s=BACKUP_SESSION_EXPIRY_S)

    def release(self, why: str) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self.connected.clear()
        stop(client)
        log.info("%s: the backup centre is no longer used", why)

    def publish_alarm(self, alarm_id: str, payload: bytes) -> bool:
        """QoS 1 to the backup's broker; False if the link is not up (nothing was queued)."""
        client = self._client
        if client is None or not self.connected.is_set():
            return False
        info = client.publish(self.topics.of(Channel.ALARM), payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        log.info("alarm %s sent to the backup centre", alarm_id)
        return True

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if client is not self._client:
            return  # a CONNACK read while release() stopped this client: the link is let go
        if reason.is_failure:
            if not self._refused:
                self._refused = True
                # A refusal no retry cures is a misconfigured backup account: an error.
                level = logging.ERROR if is_definitive_refusal(reason) else logging.WARNING
                log.log(level, "the backup centre's broker refused the gateway: %s", reason)
            return
        self._refused = False
        for channel in (Channel.RECEIPT, Channel.COMMAND):
            client.subscribe(self.topics.of(channel), qos=1)
        self.connected.set()
        log.info("connected to the backup centre as %s", self.endpoint.username)
        self._on_ready()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self.connected.is_set() and self._client is not None:
            log.warning("disconnected from the backup centre: %s", reason)
        self.connected.clear()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            message = decode_downlink(msg.topic, bytes(msg.payload))
        except MessageRejected as err:
            log.warning("rejected downlink from the backup centre on %s: %s", msg.topic, err)
            return
        if message.gateway_id != self.gateway_id:
            return
        if isinstance(message, ReceiptMessage):
            self.receipts += 1
            log.info("the backup centre confirmed %s", message.body.ref_id)
        elif not isinstance(message, CommandMessage):
            return  # the home's configuration comes from its own centre only
        self._on_downlink(message)
