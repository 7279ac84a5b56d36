"""The server's MQTT connection: a shared subscription on every gateway's uplink, and the
downlink (receipts, commands) back to gateways.

Several server processes join the same ``$share`` group and the broker splits gateways'
messages between them; each process needs its own client id (``SERVER_INSTANCE``).

Two lanes behind the MQTT thread, each with its own worker: alarms, one transaction and one
receipt each, as they come; and everything routine (statuses, events, telemetry), in batches
of up to ``ROUTINE_BATCH`` with one commit. An alarm never waits behind a heartbeat backlog.
The MQTT thread only sorts messages into the lanes, so the broker connection keeps up even
while the store is slow. A message acknowledged to the broker but not yet stored is not at
risk: the gateway resends alarms and events until the application-level receipt. A store
that fails altogether (down, locked, full) is reported to :class:`StoreHealth`, loud once per
episode rather than once per message.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy.exc import SQLAlchemyError

from protocol import Channel, CommandMessage, encode
from protocol.mqtt import (
    SERVER_RECONNECT_CAP_S,
    BrokerEndpoint,
    connect_in_background,
    new_client,
    stop,
)
from protocol.topics import ROOT, SERVER_SHARE_GROUP, Direction, TopicName
from server.ingest.handler import Outgoing, UplinkHandler
from server.live import LiveHub
from server.store_health import StoreHealth, is_store_fault

log = logging.getLogger(__name__)
# No persistent session. A stopped member of a shared subscription that keeps its session still
# gets its round-robin share queued at the broker, so a server that is down (or removed for
# good) would sit on a share of the alarms. Without a session the broker sends everything to
# the members that are up; with none up, the gateways' outboxes keep resending until one is.
SESSION_EXPIRY_S = 0
ROUTINE_BATCH = 500
ROUTINE_BOUND = 100_000  # beyond this, routine messages are dropped (resent or lossy anyway)
_Item = tuple[str, bytes] | None
_SHARED_UP = f"$share/{SERVER_SHARE_GROUP}/{ROOT}/+/up"
ALARM_FILTER = f"{_SHARED_UP}/{Channel.ALARM.value}"
ROUTINE_FILTERS = tuple(
    f"{_SHARED_UP}/{c.value}"
    for c in Channel
    if c.direction is Direction.UP and c not in (Channel.ALARM, Channel.SAMPLES)
)
# Not shared: every batch of every cloud wearable to the one process running fall detection
# (server/ingest/fall_leader.py), which alone subscribes.
SAMPLES_FILTER = f"{ROOT}/+/up/{Channel.SAMPLES.value}"


class BrokerLink:
    def __init__(
        self,
        endpoint: BrokerEndpoint,
        instance: str,
        handler: UplinkHandler,
        hub: LiveHub,
        store: StoreHealth | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._handler = handler
        self._hub = hub
        self._store = store
        self.connected = threading.Event()
        self.handler_failures = 0
        self._client = new_client(
            f"server-{instance}", endpoint, reconnect_cap_s=SERVER_RECONNECT_CAP_S
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        # Alarms come over a connection of their own. The broker queues a session's messages
        # in one FIFO and paho reads them on one thread, so on a shared connection an alarm
        # waits behind every telemetry message of a flood that came before it.
        self.alarms_connected = threading.Event()
        self._alarm_client = new_client(
            f"server-{instance}-alarms", endpoint, reconnect_cap_s=SERVER_RECONNECT_CAP_S
        )
        self._alarm_client.on_connect = self._on_alarm_connect
        self._alarm_client.on_disconnect = self._on_alarm_disconnect
        self._alarm_client.on_message = self._on_message
        self._alarms: queue.Queue[_Item] = queue.Queue()
        self._routine: queue.Queue[_Item] = queue.Queue(maxsize=ROUTINE_BOUND)
        self.routine_dropped = 0
        # Cloud wearables' samples go to the centre's fall detector (server/ingest/cloud_falls).
        self.on_samples: Callable[[str, bytes], None] | None = None
        self._samples_wanted = False
        self._samples_lock = threading.Lock()  # take_samples vs. a reconnect's subscriptions
        self._workers = [
            threading.Thread(target=self._alarm_lane, name="ingest-alarms", daemon=True),
            threading.Thread(target=self._routine_lane, name="ingest-routine", daemon=True),
        ]

    def start(self) -> None:
        self.start_lanes()
        for client in (self._alarm_client, self._client):
            connect_in_background(client, self._endpoint, session_expiry_s=SESSION_EXPIRY_S)

    def stop(self) -> None:
        stop(self._client)
        stop(self._alarm_client)
        self._alarms.put(None)
        self._put_routine(None, block=True)
        for worker in self._workers:
            if worker.is_alive():
                worker.join(timeout=10)

    def start_lanes(self) -> None:
        for worker in self._workers:
            worker.start()

    @property
    def up(self) -> bool:
        """Both connections (alarms, and everything else) are subscribed."""
        return self.connected.is_set() and self.alarms_connected.is_set()

    @property
    def backlog(self) -> dict[str, int]:
        return {"alarm": self._alarms.qsize(), "routine": self._routine.qsize()}

    def deliver(self, out: Outgoing, *, urgent: bool = True) -> None:
        """Send what handling a message asked for (receipts, live events), from any thread:
        paho queues publishes, the hub hands events to the event loop. An alarm's receipt
        (``urgent``) goes on the alarm connection: the other one may be deep in a flood."""
        client = self._alarm_client if urgent else self._client
        for reply_topic, payload in out.publish:
            client.publish(reply_topic, payload, qos=1)
        for event in out.live:
            self._hub.publish(event)

    def take_samples(self, wanted: bool) -> None:
        """Subscribe to every cloud wearable's samples (this process runs fall detection), or
        give them up; from any thread, kept across reconnects."""
        with self._samples_lock:
            if wanted == self._samples_wanted:
                return
            self._samples_wanted = wanted
            if not self.connected.is_set():
                return  # _on_connect subscribes as wanted
            if wanted:
                self._client.subscribe(SAMPLES_FILTER, qos=1)
            else:
                self._client.unsubscribe(SAMPLES_FILTER)
        log.info("%s %s", "subscribed to" if wanted else "gave up", SAMPLES_FILTER)

    def send_command(self, command: CommandMessage) -> bool:
        """QoS 1 to the gateway's persistent session; the broker holds it if it is away.

        On the alarm connection, as receipts are: an operator's "help is coming" or a fall
        prompt must not wait behind a flood, and it follows its alarm's receipt in order."""
        topic = str(TopicName(command.gateway_id, Channel.COMMAND))
        info = self._alarm_client.publish(topic, encode(command), qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def publish(self, topic: str, payload: bytes) -> bool:
        """QoS 1 on the alarm connection (responder notifications: help being sent must not
        wait behind telemetry); paho queues it and returns at once."""
        info = self._alarm_client.publish(topic, payload, qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def publish_retained(self, topic: str, payload: bytes, timeout_s: float) -> bool:
        """QoS 1, retained (a home configuration), and True only once the broker has
        acknowledged it: the caller records it as delivered to the broker."""
        info = self._client.publish(topic, payload, qos=1, retain=True)
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):  # not connected, or paho's queue is full
            return False
        return info.is_published()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the server's connection: %s", reason)
            return
        with self._samples_lock:
            filters = [*ROUTINE_FILTERS, *([SAMPLES_FILTER] if self._samples_wanted else [])]
            client.subscribe([(f, 1) for f in filters])
            self.connected.set()
        log.info("ingest connected, subscribed to %s", ", ".join(filters))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        log.warning("ingest disconnected from the broker: %s", reason)

    def _on_alarm_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the server's alarm connection: %s", reason)
            return
        client.subscribe(ALARM_FILTER, qos=1)
        self.alarms_connected.set()
        log.info("ingest's alarm connection subscribed to %s", ALARM_FILTER)

    def _on_alarm_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.alarms_connected.clear()
        log.warning("ingest's alarm connection lost: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        item = (msg.topic, bytes(msg.payload))
        channel = msg.topic.rsplit("/", 1)[-1]
        if channel == Channel.SAMPLES.value and self.on_samples is not None:
            self.on_samples(*item)
        elif channel == Channel.ALARM.value:
            self._alarms.put(item)
        else:
            self._put_routine(item, block=False)

    def _put_routine(self, item: _Item, *, block: bool) -> None:
        try:
            self._routine.put(item, block=block, timeout=10 if block else None)
        except queue.Full:
            self.routine_dropped += 1
            if self.routine_dropped % 1000 == 1:
                log.error("ingest overloaded: %d routine messages dropped", self.routine_dropped)

    def _alarm_lane(self) -> None:
        while (item := self._alarms.get()) is not None:
            topic, payload = item
            self._run(topic, partial(self._handler.handle, topic, payload), urgent=True)

    def _routine_lane(self) -> None:
        while True:
            first = self._routine.get()
            batch = [] if first is None else [first]
            stopping = first is None
            while not stopping and len(batch) < ROUTINE_BATCH:
                try:
                    more = self._routine.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                else:
                    batch.append(more)
            if batch:
                self._run(batch[0][0], partial(self._handler.handle_many, batch), urgent=False)
            if stopping:
                return

    def _run(self, topic: str, work: Callable[[], Outgoing], *, urgent: bool) -> None:
        try:
            out = work()
        except SQLAlchemyError as err:
            # No receipt goes out, so the gateway keeps the alarm and sends it again.
            self.handler_failures += 1
            if self._store is not None and is_store_fault(err):
                self._store.failed(err, f"ingest of {topic}")  # loud once per episode
            else:
                log.exception("store failed for a message on %s; the gateway will resend", topic)
            return
        except Exception:
            # A lane's only thread: whatever one message does, it must live on.
            self.handler_failures += 1
            log.exception("ingest failed on a message on %s; no receipt sent", topic)
            return
        if self._store is not None and out.committed:
            try:
                self._store.answered()
            except Exception:
                # Outside the message's guard above, and this is still the lane's only thread;
                # the message is stored, so its receipt goes all the same.
                log.exception("the store's recovery could not be recorded; will try again")
        self.deliver(out, urgent=urgent)
