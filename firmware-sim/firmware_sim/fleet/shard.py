"""Many gateway connections on one thread: paho clients driven by one ``selectors`` loop.

The centre's broker ACL (``pattern write eldercare/v1/%u/up/#``) lets a gateway account write
only its own topics, so every simulated gateway needs its own connection with its own
username. A thread per paho client (``loop_start``) would mean thousands of threads, and
paho's own loop uses ``select()``, which cannot watch file descriptors above 1023. Here one
thread per shard owns its clients: it registers their sockets with an epoll selector through
paho's external-loop callbacks, runs their timers (heartbeats, traffic, resends), reconnects
them with a capped back-off, and is the only thread that touches them; other threads hand it
work through :meth:`Shard.call_soon`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import queue
import random
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from firmware_sim.fleet.gateway import SimulatedGateway
from firmware_sim.fleet.rates import HomeRates
from protocol import AlarmKind, Channel, MessageRejected, decode_downlink
from protocol.mqtt import BrokerEndpoint

log = logging.getLogger(__name__)
SESSION_EXPIRY_S = 7 * 24 * 3600  # as the real gateway: the broker keeps receipts meanwhile
SWEEP_S = 0.2  # how often pending alarms are checked for a resend
MISC_S = 1.0  # keep-alive pings and reconnects
Task = Callable[[float], object]


@dataclass
class Link:
    """One simulated gateway and its own broker connection."""

    gateway: SimulatedGateway
    endpoint: BrokerEndpoint
    client: mqtt.Client
    retry_at: float | None = None  # monotonic; None while connected or connecting
    backoff_s: float = 1.0
    started: bool = False
    sock: Any = field(default=None, repr=False)


class Shard(threading.Thread):
    def __init__(
        self,
        index: int,
        links: list[Link],
        rates: HomeRates,
        rng: random.Random,
        *,
        ramp_per_s: float,
        generate: bool,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name=f"fleet-shard-{index}", daemon=True)
        self.links = links
        self.rates = rates
        self._rng = rng
        self._ramp_per_s = ramp_per_s
        self._generate = generate
        self._monotonic = monotonic
        self._selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Task]] = []
        self._order = itertools.count()
        self._tasks: queue.SimpleQueue[Task] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self.stopping = threading.Event()
        self.quiet = threading.Event()  # heartbeats and resends only: no new traffic
        self.stopped = threading.Event()
        self._give_up_at = float("inf")  # after a stop, when unflushed connections are dropped
        for link in links:
            self._wire(link)

    # -- threads other than the shard's own use only this ---------------------------------

    def call_soon(self, task: Task) -> None:
        self._tasks.put(task)
        self._wake_w.send(b"\0")

    # -- paho's external-loop callbacks (called on this thread) --------------------------

    def _wire(self, link: Link) -> None:
        client, gateway = link.client, link.gateway
        opened = client.on_socket_open  # keeps the project's TCP_NODELAY hook

        def on_open(c: mqtt.Client, userdata: Any, sock: Any) -> None:
            if opened is not None:
                opened(c, userdata, sock)
            link.sock = sock
            self._selector.register(sock, selectors.EVENT_READ, link)

        def on_close(_c: mqtt.Client, _u: Any, sock: Any) -> None:
            with contextlib.suppress(KeyError, ValueError):  # never registered, or gone
                self._selector.unregister(sock)
            link.sock = None

        def on_want_write(_c: mqtt.Client, _u: Any, sock: Any) -> None:
            self._selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, link)

        def on_written(_c: mqtt.Client, _u: Any, sock: Any) -> None:
            self._selector.modify(sock, selectors.EVENT_READ, link)

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if reason.is_failure:
                log.error("broker refused %s: %s", gateway.gateway_id, reason)
                return
            link.backoff_s = 1.0
            c.subscribe(gateway.topics.downlink_filter, qos=1)
            gateway.ledger.link(gateway.gateway_id, True)
            gateway.on_connected(self._monotonic())

        def on_disconnect(_c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            gateway.on_disconnected()
            gateway.ledger.link(gateway.gateway_id, False)
            if not self.stopping.is_set():
                link.retry_at = self._monotonic() + link.backoff_s
                link.backoff_s = min(10.0, link.backoff_s * 2)

        def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            try:
                message = decode_downlink(msg.topic, bytes(msg.payload))
            except MessageRejected as err:
                log.warning("rejected downlink on %s: %s", msg.topic, err)
                return
            gateway.on_downlink(message, self._monotonic())

        client.on_socket_open = on_open
        client.on_socket_close = on_close
        client.on_socket_register_write = on_want_write
        client.on_socket_unregister_write = on_written
        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        client.will_set(
            gateway.topics.of(Channel.STATUS), gateway.status("offline"), qos=1, retain=True
        )

        def publish(topic: str, payload: bytes, retain: bool) -> bool:
            info = client.publish(topic, payload, qos=1, retain=retain)
            return info.rc == mqtt.MQTT_ERR_SUCCESS

        gateway.publish = publish

    # -- the loop ------------------------------------------------------------------------

    def at(self, due: float, task: Task) -> None:
        heapq.heappush(self._timers, (due, next(self._order), task))

    def run(self) -> None:
        try:
            self._schedule_start(self._monotonic())
            while not self.stopping.is_set() or (
                self._open_sockets() and self._monotonic() < self._give_up_at
            ):
                self._turn()
        finally:
            self.stopped.set()

    def _turn(self) -> None:
        now = self._monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, task = heapq.heappop(self._timers)
            task(now)
        timeout = min(0.05, max(0.0, self._timers[0][0] - now)) if self._timers else 0.05
        for key, mask in self._selector.select(timeout):
            link = key.data
            if link is None:
                self._run_tasks()
                continue
            if mask & selectors.EVENT_READ:
                link.client.loop_read()
            if mask & selectors.EVENT_WRITE and link.sock is not None:
                link.client.loop_write()

    def _run_tasks(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        now = self._monotonic()
        while not self._tasks.empty():
            self._tasks.get_nowait()(now)

    def _open_sockets(self) -> int:
        return sum(1 for link in self.links if link.sock is not None)

    def _schedule_start(self, now: float) -> None:
        for i, link in enumerate(self.links):
            self.at(now + i / self._ramp_per_s, self._task(self._connect, link))
            phase = self._rng.uniform(0, self.rates.heartbeat_s)
            self.at(now + phase, self._task(self._heartbeat, link))
            if self._generate:
                self._schedule_traffic(link, now)
        self.at(now + SWEEP_S, self._sweep)
        self.at(now + MISC_S, self._misc)

    @staticmethod
    def _task(action: Callable[[Link, float], None], link: Link) -> Task:
        return lambda now: action(link, now)

    def _connect(self, link: Link, now: float) -> None:
        if self.stopping.is_set():
            return
        try:
            if link.started:
                link.client.reconnect()
            else:
                props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                props.SessionExpiryInterval = SESSION_EXPIRY_S
                endpoint = link.endpoint
                link.client.connect(
                    endpoint.host,
                    endpoint.port,
                    keepalive=endpoint.keepalive_s,
                    clean_start=False,
                    properties=props,
                )
                link.started = True
            link.retry_at = None
        except (OSError, ValueError) as err:
            link.started = True
            link.retry_at = now + link.backoff_s
            link.backoff_s = min(10.0, link.backoff_s * 2)
            log.debug("%s: cannot connect: %s", link.gateway.gateway_id, err)

    def _heartbeat(self, link: Link, now: float) -> None:
        if not self.stopping.is_set():
            link.gateway.heartbeat(now)
            self.at(now + self.rates.heartbeat_s, self._task(self._heartbeat, link))

    def _schedule_traffic(self, link: Link, now: float) -> None:
        rates = self.rates
        streams: list[tuple[float, Callable[[float], object]]] = [
            (rates.telemetry_per_s, link.gateway.telemetry),
            (rates.events_per_s, link.gateway.device_event),
            (rates.alarms_per_s, lambda t: link.gateway.raise_alarm(self._alarm_kind(), t)),
        ]
        for rate, send in streams:
            if rate > 0:
                self._poisson(rate, send, now)

    def _poisson(self, rate: float, send: Callable[[float], object], now: float) -> None:
        def fire(t: float) -> None:
            if not self.stopping.is_set():
                if not self.quiet.is_set():
                    send(t)
                self._poisson(rate, send, t)

        self.at(now + self._rng.expovariate(rate), fire)

    def _alarm_kind(self) -> AlarmKind:
        kinds = list(self.rates.alarms_per_month)
        weights = list(self.rates.alarms_per_month.values())
        return self._rng.choices(kinds, weights)[0]

    def _sweep(self, now: float) -> None:
        for link in self.links:
            if link.gateway.outbox and link.gateway.connected:
                link.gateway.resend_due(now)
        if not self.stopping.is_set():
            self.at(now + SWEEP_S, self._sweep)

    def _misc(self, now: float) -> None:
        for link in self.links:
            if link.sock is not None:
                link.client.loop_misc()
            elif link.retry_at is not None and now >= link.retry_at:
                self._connect(link, now)
        if not self.stopping.is_set():
            self.at(now + MISC_S, self._misc)

    def begin_stop(self) -> None:
        """On the shard's thread (:meth:`call_soon`): an offline status from every connected
        gateway, clean disconnects; :meth:`run` ends once they are flushed."""
        self.stopping.set()
        now = self._monotonic()
        for link in self.links:
            if link.gateway.connected:
                link.client.publish(
                    link.gateway.topics.of(Channel.STATUS),
                    link.gateway.status("offline"),
                    qos=1,
                    retain=True,
                )
            if link.sock is not None:
                link.client.disconnect()
        self._give_up_at = now + 5.0
