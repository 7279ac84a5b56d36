"""Falls of wearables that connect to the centre directly: the gateway's detector, run here.

A cloud wearable is its own gateway account (its broker username is its id, so the ACL's
``%u`` pattern confines it to ``eldercare/v1/<id>/up/...``) and publishes its accelerometer as
``samples`` messages (docs/protocol.md). The broker link hands those payloads to
:meth:`CloudFalls.offer` on paho's thread, which only queues them (bounded); one worker
thread decodes them, feeds every wearer into one :class:`~gateway.detect.fall_bank.FallBank`
(the gateway's detector and default configuration, all wearers vectorised), and turns a
detection into the gateway's fall flow:

1. a possible fall, held for the cancel window (the centre's clock);
2. a key press in the wearable's later batches (``presses_s``, device time, after the
   decision) cancels it: a ``fall_cancelled`` event is stored instead;
3. otherwise, when the window ends, the fall alarm, with the acceleration trace around the
   impact, goes through the server's normal ingest (:class:`UplinkHandler`: stored once by id,
   receipt to the wearable, live event for the console).

Detection takes time from the samples only. While a wearer's fall is held a further
detection raises nothing (one episode, one alarm), as at the gateway. A store failure keeps
the message and tries again on the next round.

A held fall is in SQL from the moment of detection (:class:`~server.ingest.held_falls.HeldFalls`),
and the wearable is prompted (a ``fall_prompt`` command). Only one server process runs
detection at a time (:class:`~server.ingest.fall_leader.FallLeadership`): a wearer's batches
must all reach one detector state. :meth:`CloudFalls.lead` (this process now runs it) takes
over the holds in SQL; :meth:`CloudFalls.follow` forgets every wearer.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gateway.detect.fall import FallEvent
from gateway.detect.fall_bank import FallBank
from gateway.detect.resample import STREAM_END_S, TimeOrderError
from gateway.fall_trace import RawSamples
from protocol import (
    AlarmBody,
    AlarmKind,
    AlarmMessage,
    Channel,
    EventBody,
    EventMessage,
    MessageRejected,
    Origin,
    SamplesMessage,
    TopicName,
    decode_uplink,
    encode,
)
from protocol.messages import DEFAULT_PRIORITY
from server.crud.fall_holds import HeldFall
from server.ingest.handler import Outgoing, UplinkHandler
from server.ingest.held_falls import HeldFalls, Prompt

log = logging.getLogger(__name__)
QUEUE_BOUND = 20_000  # batches; at 1 batch/s per wearable, seconds of backlog for 20k of them
DRAIN_MAX = 2_000  # batches decoded before the detector steps once over all of them
TICK_S = 0.2  # how often held falls are looked at when no samples come
IDLE_S = 600.0  # a wearer silent this long (centre clock) is forgotten, its row freed
DEVICE_KIND = "cloud_wearable"
_Item = tuple[str, bytes] | None


@dataclass
class _Wearer:
    gateway_id: str
    device_id: str
    home_id: str
    raw: RawSamples = field(default_factory=RawSamples)
    clock_offset: float = 0.0  # centre time minus device time, at the latest batch
    heard_at: float = 0.0  # centre time of the latest batch
    ended: bool = False  # silent for STREAM_END_S: its stream was ended


class CloudFalls:
    """The centre's fall flow for cloud wearables; ``store`` is the normal ingest path."""

    def __init__(
        self,
        handler: UplinkHandler,
        sessions: sessionmaker[Session],
        deliver: Callable[[Outgoing], None],
        *,
        cancel_window_s: float,
        prompt: Prompt | None = None,
        take_samples: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.time,
        bound: int = QUEUE_BOUND,
    ) -> None:
        """``prompt`` sends a command to a wearable (the broker link's ``send_command``);
        ``take_samples`` subscribes to the wearables' samples, or gives them up."""
        self._handler = handler
        self._take_samples = take_samples
        self._deliver = deliver
        self.cancel_window_s = cancel_window_s
        self._clock = clock
        self.bank = FallBank()
        self._wearers: dict[str, _Wearer] = {}
        self.held = HeldFalls(sessions, self._store_alarm, prompt)
        self._leading = threading.Event()  # set: this process runs detection (see lead())
        self._changes: queue.SimpleQueue[bool] = queue.SimpleQueue()  # to the worker
        self._unstored: list[tuple[str, bytes]] = []
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=bound)
        self._thread = threading.Thread(target=self._run, name="cloud-falls", daemon=True)
        self.dropped = 0  # batches refused because the queue was full
        self.rejected = 0  # payloads that were not valid samples messages

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    def lead(self) -> None:
        """From any thread: this process now runs detection; the worker takes over the holds."""
        self._leading.set()
        self._changes.put(True)  # the holds first: a press in the next batch may cancel one
        if self._take_samples is not None:
            self._take_samples(True)

    def follow(self) -> None:
        """From any thread: another process runs detection; the worker forgets every wearer."""
        if self._take_samples is not None:
            self._take_samples(False)
        self._leading.clear()
        self._changes.put(False)

    def take_over(self) -> bool:
        """On the worker: resume the holds in SQL; False if the store refused (try again)."""
        try:
            count = self.held.resume(self._clock())
        except SQLAlchemyError as err:
            log.warning("could not read the held cloud falls (%s); trying again", err)
            return False
        log.info("cloud fall detection runs here; %d held fall(s) taken over", count)
        return True

    def step_down(self) -> None:
        """On the worker: every wearer forgotten (their holds stay in SQL for the leader)."""
        for key in list(self._wearers):
            self.bank.forget(key)
        self._wearers.clear()
        self._unstored.clear()
        self.held.drop()
        log.info("cloud fall detection handed to another server process")

    def offer(self, topic: str, payload: bytes) -> None:
        """On paho's thread: queue a samples payload, never block the broker connection."""
        try:
            self._queue.put_nowait((topic, payload))
        except queue.Full:
            # Samples lost are a blind spot in a wearer's detection: loud, not silent.
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.error("fall detection overloaded: %d sample batches dropped", self.dropped)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._drain()
            try:
                self._follow_changes()
                if not self.leading:
                    continue  # trailing batches of a subscription just given up
                self.process(batch)
                self.tick()
            except Exception:
                # The only thread watching these wearers: whatever one round does, it lives on.
                log.exception("cloud fall detection failed on a round; going on")

    def _follow_changes(self) -> None:
        while True:
            try:
                leading = self._changes.get_nowait()
            except queue.Empty:
                return
            if not leading:
                self.step_down()
            elif not self.take_over():
                self._changes.put(True)
                return

    def _drain(self) -> tuple[list[tuple[str, bytes]], bool]:
        """Up to ``DRAIN_MAX`` queued payloads (waiting at most a tick); True when stopping."""
        batch: list[tuple[str, bytes]] = []
        try:
            item = self._queue.get(timeout=TICK_S)
            while item is not None:
                batch.append(item)
                if len(batch) >= DRAIN_MAX:
                    return batch, False
                item = self._queue.get_nowait()
        except queue.Empty:
            return batch, False
        return batch, True

    def process(self, payloads: list[tuple[str, bytes]]) -> None:
        """Feed a round of samples payloads, step the detector once, act on what it found."""
        now = self._clock()
        messages = [m for m in (self._decode(t, p) for t, p in payloads) if m is not None]
        for message in messages:
            self._feed(message, now)
        for key, event in self.bank.step():
            self._detected(key, event, now)
        for message in messages:
            key = _key(message)
            self._wearers[key].raw.trim(message.body.t_s[-1])
            for pressed in message.body.presses_s:
                self._pressed(key, pressed, now)

    def tick(self) -> None:
        """Send the falls whose window has ended; retry what the store refused; end the
        streams of wearables silent for ``STREAM_END_S`` (a soft fall still waiting for its
        confirmation is decided on the last sample sent, as at a gateway); forget idle."""
        now = self._clock()
        for key, silent in self._wearers.items():
            if not silent.ended and now - silent.heard_at >= STREAM_END_S:
                silent.ended = True
                for event in self.bank.end(key):
                    self._detected(key, event, now)
        self.held.release_due(now)
        retry, self._unstored = self._unstored, []
        for topic, payload in retry:
            if not self._store(topic, payload):
                self._unstored.append((topic, payload))
        for key in [k for k, w in self._wearers.items() if now - w.heard_at > IDLE_S]:
            if key not in self.held:
                del self._wearers[key]
                self.bank.forget(key)

    def _decode(self, topic: str, payload: bytes) -> SamplesMessage | None:
        try:
            message = decode_uplink(topic, payload)
        except MessageRejected as err:
            self.rejected += 1
            log.warning("samples payload on %s refused: %s", topic, err)
            return None
        if not isinstance(message, SamplesMessage):
            self.rejected += 1
            log.warning("a %s message on the samples lane (%s)", message.type, topic)
            return None
        return message

    def _feed(self, message: SamplesMessage, now: float) -> None:
        key = _key(message)
        body = message.body
        wearer = self._wearers.get(key)
        if wearer is None:
            device_id = message.device_id or message.gateway_id
            wearer = self._wearers[key] = _Wearer(message.gateway_id, device_id, body.home_id)
        wearer.home_id, wearer.heard_at, wearer.ended = body.home_id, now, False
        wearer.clock_offset = now - body.t_s[-1]
        wearer.raw.extend(body.t_s, body.g)
        try:
            self.bank.feed(key, np.asarray(body.t_s), np.asarray(body.g))
        except TimeOrderError as err:
            # The wearable's clock went back: it restarted. Start its detector afresh.
            log.warning("%s: clock went back (%s); detector restarted", key, err)
            self.bank.forget(key)
            wearer.raw.clear()
            wearer.raw.extend(body.t_s, body.g)
            try:
                self.bank.feed(key, np.asarray(body.t_s), np.asarray(body.g))
            except TimeOrderError as again:
                # Unusable even on a fresh detector: this batch alone is dropped, and the
                # round (other wearers, presses) goes on.
                self.rejected += 1
                wearer.raw.clear()
                log.warning("%s: samples batch dropped, its times are unusable: %s", key, again)

    def _detected(self, key: str, event: FallEvent, now: float) -> None:
        if key in self.held:
            return  # the same episode: one alarm
        wearer = self._wearers[key]
        alarm = AlarmMessage(
            gateway_id=wearer.gateway_id,
            device_id=wearer.device_id,
            device_time=datetime.fromtimestamp(event.t_impact + wearer.clock_offset, UTC),
            gateway_time=datetime.fromtimestamp(now, UTC),
            body=AlarmBody(
                kind=AlarmKind.FALL,
                priority=DEFAULT_PRIORITY[AlarmKind.FALL],
                home_id=wearer.home_id,
                origin=Origin(transport="cloud", device_kind=DEVICE_KIND),
                trace=wearer.raw.trace(event),
            ),
        )
        if self.cancel_window_s <= 0:
            if not self._store_alarm(alarm):
                self._unstored.append(
                    (str(TopicName(alarm.gateway_id, Channel.ALARM)), encode(alarm))
                )
            return
        self.held.hold(HeldFall(key, alarm, event.t_detect, now + self.cancel_window_s), now)
        log.info("possible fall %s from %s: held %.0f s", alarm.id, key, self.cancel_window_s)

    def _pressed(self, key: str, pressed_s: float, now: float) -> None:
        hold = self.held.get(key)
        if hold is None or pressed_s < hold.t_detect:
            return  # no fall held, or pressed before the detector decided
        wearer = self._wearers[key]
        log.info("possible fall %s cancelled by the wearer", hold.alarm.id)
        event = EventMessage(
            gateway_id=wearer.gateway_id,
            device_id=wearer.device_id,
            device_time=datetime.fromtimestamp(pressed_s + wearer.clock_offset, UTC),
            gateway_time=datetime.fromtimestamp(now, UTC),
            body=EventBody(kind="fall_cancelled", detail={"alarm_id": hold.alarm.id}),
        )
        cancelled = (str(TopicName(wearer.gateway_id, Channel.EVENT)), encode(event))
        if not self._store(*cancelled):
            self._unstored.append(cancelled)
        # After the event: a crash in between raises the alarm after all (the safe side).
        self.held.end(key)

    def _store_alarm(self, alarm: AlarmMessage) -> bool:
        return self._store(str(TopicName(alarm.gateway_id, Channel.ALARM)), encode(alarm))

    def _store(self, topic: str, payload: bytes) -> bool:
        """Through the normal ingest; False if the store refused (the caller retries)."""
        try:
            out = self._handler.handle(topic, payload)
        except SQLAlchemyError as err:
            log.warning("store refused a cloud wearable's message (%s); retrying", err)
            return False
        self._deliver(out)
        return True


def _key(message: SamplesMessage) -> str:
    """A wearer: the account that sent it and the device id it names (none: the account)."""
    return f"{message.gateway_id}/{message.device_id or message.gateway_id}"
