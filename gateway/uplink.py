"""The link to the centre: MQTT v5 with a persistent session, a will, and an outbox sender.

The sender publishes due outbox messages with QoS 1 and schedules a resend; only the server's
receipt (an application-level OK) takes a message out of the outbox. On every (re)connect all
pending messages are due at once, oldest first.

With a backup centre configured (:mod:`gateway.backup`), the sender also sends unconfirmed
alarms there while the centre has left an alarm unconfirmed for ``backup_after_s`` or its
broker refuses the gateway; the centre is tried all along, and once it confirms a message again
the backup is let go.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import paho.mqtt.client as mqtt

from gateway import OutboxError
from gateway.backlog import Kept, TelemetryBacklog
from gateway.backlog_batches import outgoing
from gateway.backup import BackupCentre
from gateway.outbox import Outbox
from gateway.telemetry_gather import TelemetryGatherer
from protocol import (
    Channel,
    DownlinkMessage,
    GatewayTopics,
    MessageRejected,
    ReceiptMessage,
    StatusBody,
    StatusMessage,
    decode_downlink,
    encode,
)
from protocol.messages import MAX_BATCH_READINGS
from protocol.mqtt import (
    BrokerEndpoint,
    connect_in_background,
    is_definitive_refusal,
    new_client,
    stop,
)

log = logging.getLogger(__name__)
SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps our commands while we are away
# Backlogged telemetry handed to paho but not yet acknowledged by the broker, at most: an
# alarm raised while the backlog drains waits behind this many messages, never the backlog.
BACKLOG_WINDOW = 20
BACKLOG_POLL_S = 0.05  # while draining: how soon to look for room in the window again
ROUTE_CHECK_S = 1.0  # how often the outbox is asked whether the backup centre is needed


@dataclass(frozen=True, slots=True)
class CentreLinks:
    """What the gateway can reach now: for the home's local signal and for the metrics."""

    connected: bool = False
    refusal: str | None = None  # the centre's broker refuses the gateway, and why
    backup_configured: bool = False
    backup_in_use: bool = False
    backup_connected: bool = False
    backup_engagements: int = 0
    backup_receipts: int = 0


class Uplink:
    """Owns the MQTT connection to the centre and the outbox sender thread."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        home_id: str,
        outbox: Outbox,
        on_downlink: Callable[[DownlinkMessage], None],
        *,
        heartbeat_interval_s: int,
        resend_interval_s: float,
        clock: Callable[[], float] = time.time,
        backlog: TelemetryBacklog | None = None,
        backup: BrokerEndpoint | None = None,
        backup_after_s: float = 180.0,
        telemetry_gather_s: float = 0.0,
        telemetry_series: bool = True,
    ) -> None:
        self.gateway_id = endpoint.username
        self.topics = GatewayTopics(self.gateway_id)
        self._endpoint = endpoint
        self._home_id = home_id
        self._outbox = outbox
        self._on_downlink = on_downlink
        self._heartbeat_s = heartbeat_interval_s
        self._resend_s = resend_interval_s
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.rejected_downlink = 0
        # Told of every refused downlink (topic, payload, why): a bad configuration is answered.
        self.on_rejected: Callable[[str, bytes, MessageRejected], None] | None = None
        self._client = new_client(f"gateway-{self.gateway_id}", endpoint)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        self.refused_publishes = 0
        self.thinned = 0
        self._backlog = backlog
        # Live telemetry held for a few seconds, then sent as one batch (0: each at once).
        self._gathered = (
            TelemetryGatherer(telemetry_gather_s, clock) if telemetry_gather_s > 0 else None
        )
        # Runs of telemetry as telemetry_series (columns) or as telemetry_batch messages.
        self._as_columns = telemetry_series
        # Backlogged messages handed to paho, until their PUBACK; only the sender touches it.
        self._draining: list[mqtt.MQTTMessageInfo] = []
        # Set while the centre's broker refuses the gateway for a reason no retry cures
        # (credentials, ACL, ban); another failure's reason is only kept for the log.
        self.refusal: str | None = None
        self._failing: str | None = None  # one log line per episode of refused connects
        self.backup: BackupCentre | None = None
        if backup is not None:
            self.backup = BackupCentre(
                backup, self.gateway_id, on_downlink, on_ready=self._backup_ready
            )
        self._backup_after_s = backup_after_s
        self._backup_since = 0.0
        self._answered_at = -math.inf  # the centre's last receipt
        self._released_at = -math.inf  # the backup was last let go
        self._routed_at = -math.inf
        self._client.will_set(
            self.topics.of(Channel.STATUS), encode(self._status("offline")), qos=1, retain=True
        )
        self._threads = [
            threading.Thread(target=self._send_loop, name="uplink-sender"),
            threading.Thread(target=self._heartbeat_loop, name="uplink-heartbeat"),
        ]

    def start(self) -> None:
        connect_in_background(self._client, self._endpoint, session_expiry_s=SESSION_EXPIRY_S)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._send_gathered(everything=True)
        if self.backup is not None:
            self.backup.release("the gateway stops")
        if self.connected.is_set():
            self._publish(Channel.STATUS, encode(self._status("offline")), retain=True)
        stop(self._client)

    @property
    def heartbeat_interval_s(self) -> int:
        return self._heartbeat_s

    @heartbeat_interval_s.setter
    def heartbeat_interval_s(self, value: int) -> None:
        """A new pace from the centre: the next status announces it (after the current wait)."""
        self._heartbeat_s = value

    def links(self) -> CentreLinks:
        backup = self.backup
        return CentreLinks(
            connected=self.connected.is_set(),
            refusal=self.refusal,
            backup_configured=backup is not None,
            backup_in_use=backup is not None and backup.engaged,
            backup_connected=backup is not None and backup.connected.is_set(),
            backup_engagements=0 if backup is None else backup.engagements,
            backup_receipts=0 if backup is None else backup.receipts,
        )

    def wake(self) -> None:
        """Something new is in the outbox: send it now rather than at the next tick."""
        self._wake.set()

    def publish_now(self, channel: Channel, payload: bytes) -> bool:
        """Fire-and-forget QoS 1 publish for what may be thinned (telemetry, device events).

        While disconnected it goes to the on-disk backlog (within its quota, oldest thinned
        first), or is dropped without one; never to paho, which would queue it and, on
        reconnect, send that backlog ahead of the alarms waiting in the outbox. Connected, a
        ``telemetry`` payload may wait a few seconds to go with others (`TelemetryGatherer`).
        """
        if not self.connected.is_set():
            self._keep(channel, payload)
            return False
        if self._gathered is not None and channel is Channel.TELEMETRY:
            if self._gathered.add(payload):
                self._wake.set()
            return True
        return self._publish(channel, payload)

    def _keep(self, channel: Channel, payload: bytes) -> None:
        """Into the on-disk backlog while the centre is away, or thinned without one."""
        if self._backlog is None:
            self.thinned += 1
            return
        try:
            self._backlog.keep(channel.value, payload)
        except OutboxError:
            self.thinned += 1
            log.exception("telemetry backlog unusable; telemetry dropped")

    def _send_gathered(self, *, everything: bool = False) -> None:
        """Held live telemetry once its window is over: one ``telemetry_batch`` (a lone
        reading as it was); to the backlog if the centre is away (never to paho, see
        `publish_now`)."""
        if self._gathered is None:
            return
        rows = self._gathered.take(everything=everything)
        if not rows:
            return
        connected = self.connected.is_set()
        now = datetime.fromtimestamp(self._clock(), UTC)
        for message in outgoing(rows, self.gateway_id, now, as_columns=self._as_columns):
            if connected:
                connected = self._publish(message.channel, message.payload)
                if connected:
                    continue
            for row in message.rows:
                self._keep(Channel(row.channel), row.payload)

    def publish_unstored(self, channel: Channel, payload: bytes) -> bool:
        """QoS 1 now if connected, else nothing: for the one message that cannot go through
        the outbox, the report that the outbox itself has failed."""
        return self.connected.is_set() and self._publish(channel, payload)

    def _publish(self, channel: Channel, payload: bytes, *, retain: bool = False) -> bool:
        info = self._client.publish(self.topics.of(channel), payload, qos=1, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _status(self, state: Literal["online", "offline"]) -> StatusMessage:
        return StatusMessage(
            gateway_id=self.gateway_id,
            gateway_time=datetime.fromtimestamp(self._clock(), UTC),
            body=StatusBody(
                state=state,
                heartbeat_interval_s=self._heartbeat_s,
                home_id=self._home_id,
                outbox_depth=self._outbox.depth() if state == "online" else 0,
            ),
        )

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._refused(reason)
            return
        if self._failing is not None:
            log.warning("the centre's broker accepts the gateway again (was: %s)", self._failing)
            self._failing = self.refusal = None
        client.subscribe(self.topics.downlink_filter, qos=1)
        self.connected.set()
        try:
            self._publish(Channel.STATUS, encode(self._status("online")), retain=True)
            self._outbox.retry_all_now(self._clock())
        except OutboxError:
            log.critical("outbox unusable on connect", exc_info=True)
        self._wake.set()
        log.info("connected to the centre as %s", self.gateway_id)

    def _refused(self, reason: Any) -> None:
        """A refused CONNACK; paho retries with back-off (1 s doubling to a cap of 3-6 s,
        protocol/mqtt.py). Said once per episode: a definitive refusal is an error someone
        must fix (the devices show NOT_DELIVERED meanwhile, gateway/service.py); a busy or
        unavailable broker is an outage like any other."""
        definitive = is_definitive_refusal(reason)
        if definitive:
            self.refusal = str(reason)
            self._wake.set()  # the backup, if any, is wanted now
        if self._failing == str(reason):
            log.debug("centre broker refused the connection again: %s", reason)
            return
        self._failing = str(reason)
        if definitive:
            log.error(
                "the centre's broker refuses the gateway (%s): no alarm can reach the centre"
                " until its account is fixed; retrying",
                reason,
            )
        else:
            log.warning("the centre's broker turned the gateway away (%s); retrying", reason)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        # After a refused CONNACK paho reports a disconnect too: that was no connection.
        if self.connected.is_set():
            log.warning("disconnected from the centre: %s", reason)
        self.connected.clear()

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        # MQTT v5 PUBACK carries a reason: "not authorized" means the broker's ACL dropped
        # the message (a misconfigured gateway id or ACL). The outbox still holds any alarm;
        # this makes the cause visible instead of retrying in silence.
        if reason.is_failure:
            self.refused_publishes += 1
            log.error("broker refused publish %d: %s", mid, reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            message = decode_downlink(msg.topic, bytes(msg.payload))
        except MessageRejected as err:
            self.rejected_downlink += 1
            log.warning("rejected downlink on %s: %s", msg.topic, err)
            if self.on_rejected is not None:
                self.on_rejected(msg.topic, bytes(msg.payload), err)
            return
        if message.gateway_id != self.gateway_id:
            self.rejected_downlink += 1
            return
        if isinstance(message, ReceiptMessage):
            self._answered_at = self._clock()
            if self.backup is not None and self.backup.engaged:
                self._wake.set()  # the centre answers again: the backup can be let go
        self._on_downlink(message)

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            timeout = 1.0
            try:
                self._choose_centres()
                backup_up = self.backup is not None and self.backup.connected.is_set()
                if self.connected.is_set() or backup_up:
                    self._send_due()
                self._send_gathered()  # after the alarms; kept on disk if disconnected
                # Disconnected, what is due stays due: waiting on it would spin. A reconnect
                # wakes this loop, and the backup's resends need no finer pace than a second.
                due = [self._gathered_due()]  # taken when due, connected or not: no spin
                if self.connected.is_set():
                    if self._drain_backlog():
                        timeout = BACKLOG_POLL_S
                    due.append(self._outbox.next_due_at())
                for next_due in due:
                    if next_due is not None:
                        timeout = max(0.0, min(timeout, next_due - self._clock()))
            except OutboxError:
                # Disk full, I/O error: say so and keep trying; the alarms are still on disk.
                log.critical("outbox unreadable; alarms are waiting", exc_info=True)
            self._wake.wait(timeout)

    def _gathered_due(self) -> float | None:
        return None if self._gathered is None else self._gathered.due_at()

    def _choose_centres(self) -> None:
        """Open the backup link when the centre leaves an alarm unconfirmed for
        ``backup_after_s`` or its broker refuses the gateway; close it once the centre
        confirms anything again (any receipt: its server is storing again).

        Once let go, the centre has ``backup_after_s`` again for what still waits: it
        confirms a burst one by one, and its receipts reach the outbox on the gateway's
        thread, after this one has seen them."""
        backup = self.backup
        if backup is None:
            return
        now = self._clock()
        if backup.engaged:
            if self._answered_at > self._backup_since:
                backup.release("the centre confirms messages again")
                self._released_at = now
            return
        if self.refusal is not None:
            why = f"the centre's broker refuses the gateway ({self.refusal})"
        elif now - self._routed_at >= ROUTE_CHECK_S:
            self._routed_at = now
            waiting = self._outbox.backlog().get(Channel.ALARM.value)
            if waiting is None or now - max(waiting[1], self._released_at) < self._backup_after_s:
                return
            why = f"{waiting[0]} alarm(s) unconfirmed by the centre for {now - waiting[1]:.0f} s"
        else:
            return
        self._backup_since = now
        backup.engage(why)

    def _backup_ready(self) -> None:
        """The backup link is up: every pending alarm is due now (the oldest goes first)."""
        try:
            self._outbox.retry_all_now(self._clock())
        except OutboxError:
            log.critical("outbox unusable on connecting to the backup centre", exc_info=True)
        self._wake.set()

    def _send_due(self) -> None:
        """Each due message to the centre, and each due alarm to the backup while it is in
        use; a message neither took stays due (only the centre takes what is not an alarm)."""
        now = self._clock()
        primary = self.connected.is_set()
        backup = self.backup if self.backup is not None and self.backup.engaged else None
        # One jitter for the whole pass: what goes out together is due again together, so a
        # resend keeps the stored order (oldest first) instead of shuffling by each one's draw.
        # Gateways still spread out, each drawing its own.
        next_attempt_at = now + self._resend_s * random.uniform(0.8, 1.2)  # noqa: S311
        for item in self._outbox.due(now):
            sent = False
            if primary:
                # A failure means the connection dropped: on_connect makes everything due again.
                primary = sent = self._publish(Channel(item.channel), item.payload)
            if backup is not None and item.channel == Channel.ALARM.value:
                if backup.publish_alarm(item.id, item.payload):
                    sent = True
                else:
                    backup = None  # down: its on_connect makes every alarm due again
            if not primary and backup is None:
                return
            if not sent:
                continue
            if item.attempts and item.channel == Channel.ALARM.value:
                log.info("alarm %s sent again (attempt %d)", item.id, item.attempts + 1)
            self._outbox.attempted(item.id, next_attempt_at)

    def _drain_backlog(self) -> bool:
        """After the alarms: hand backlogged telemetry to paho, a window of messages at a time
        (paho resends what is in flight after a reconnect), telemetry gathered into
        ``telemetry_batch`` messages. True while some is left to drain."""
        if self._backlog is None or not self._backlog.depth:
            return False
        self._draining = [info for info in self._draining if not info.is_published()]
        room = BACKLOG_WINDOW - len(self._draining)
        now = datetime.fromtimestamp(self._clock(), UTC)
        # Telemetry in batches (backlog_batches): the broker's cost is per message.
        kept = self._backlog.oldest(MAX_BATCH_READINGS) if room > 0 else []
        handed: list[Kept] = []
        connected = True
        for message in outgoing(kept, self.gateway_id, now, as_columns=self._as_columns)[:room]:
            info = self._client.publish(self.topics.of(message.channel), message.payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                connected = False  # disconnected again: the rest stays in the backlog
                break
            self._draining.append(info)
            handed.extend(message.rows)
        # What paho took leaves the backlog in one transaction (one commit per window).
        self._backlog.sent_many(handed)
        return connected and bool(self._backlog.depth)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self._heartbeat_s):
            if self.connected.is_set():
                try:
                    self._publish(Channel.STATUS, encode(self._status("online")), retain=True)
                except OutboxError:
                    log.critical("outbox unreadable; heartbeat skipped", exc_info=True)
