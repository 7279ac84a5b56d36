"""Handles one uplink payload: decode, store, answer. Transport-free, so tests can drive it.

Order for an alarm: commit to the store, then send the receipt (the gateway may now forget
it), then tell live subscribers. A duplicate gets a receipt too (its first receipt may have
been lost) but no second live event.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from prometheus_client import Histogram
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from protocol import (
    AlarmMessage,
    Channel,
    EventMessage,
    MessageRejected,
    ReceiptBody,
    ReceiptMessage,
    SamplesMessage,
    StatusMessage,
    decode_uplink,
    encode,
)
from protocol.topics import TopicName
from server.crud.alarms import get_alarm, ingest_alarm
from server.crud.ingest import record_event, record_rejected, record_status
from server.db.models import Gateway
from server.ingest.telemetry import TelemetryUplink, points_of
from server.live_relay import announce_change
from server.store_health import is_store_fault, is_transaction_conflict
from server.supervision import gateway_offline_alarm
from server.telemetry import Admission, TelemetrySink

log = logging.getLogger(__name__)
CONFLICT_ATTEMPTS = 3  # runs of a transaction PostgreSQL rolls back for a conflict
_T = TypeVar("_T")


@dataclass
class Outgoing:
    """What handling one payload asks the transport to do."""

    publish: list[tuple[str, bytes]] = field(default_factory=list)
    live: list[dict[str, Any]] = field(default_factory=list)
    committed: bool = False  # SQL took a write: the store works (telemetry alone says not)

    def extend(self, other: Outgoing) -> None:
        self.publish += other.publish
        self.live += other.live
        self.committed |= other.committed


StoredMessage = StatusMessage | EventMessage  # what a routine batch writes to SQL


class UplinkHandler:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        telemetry: TelemetrySink,
        *,
        clock: Callable[[], float] = time.time,
        notify_in_transaction: bool = False,
        alarm_latency: Histogram | None = None,
    ) -> None:
        self._notify = notify_in_transaction
        self._latency = alarm_latency
        self._sessions = sessions
        self._telemetry = telemetry
        self._clock = clock
        self.counts: Counter[str] = Counter()

    def handle(self, topic: str, payload: bytes) -> Outgoing:
        now = datetime.fromtimestamp(self._clock(), UTC)
        try:
            message = decode_uplink(topic, payload)
        except MessageRejected as err:
            self._reject(topic, payload, err, now)
            return Outgoing()
        self.counts[message.type] += 1
        if isinstance(message, AlarmMessage):
            return self._alarm(message, now)
        if isinstance(message, SamplesMessage):
            return self._unrouted_samples(message)
        if isinstance(message, TelemetryUplink):
            # No SQL, no I/O: queued for the telemetry writer, so what follows (an alarm
            # perhaps) is not held up by it.
            self._offer_telemetry(message)
            return Outgoing()
        out = Outgoing(committed=True)
        with self._sessions.begin() as session:
            self._record(session, message, now, out)
        return out

    def handle_many(self, messages: Sequence[tuple[str, bytes]]) -> Outgoing:
        """Routine messages (statuses, events, telemetry) with one commit for all of them.

        One commit per heartbeat is what limits a centre with thousands of gateways (each
        commit waits for the disk); batched, a backlog is cleared at the disk's pace per batch.
        Should the batch fail, each message is tried alone, so one bad message holds up none
        of the others. Alarms met here still get their own transaction and receipt.
        """
        now = datetime.fromtimestamp(self._clock(), UTC)
        out = Outgoing()
        stored: list[StoredMessage] = []
        for topic, payload in messages:
            try:
                message = decode_uplink(topic, payload)
            except MessageRejected as err:
                self._reject(topic, payload, err, now)
                continue
            self.counts[message.type] += 1
            if isinstance(message, AlarmMessage):
                out.extend(self._alarm(message, now))
            elif isinstance(message, SamplesMessage):
                out.extend(self._unrouted_samples(message))
            elif isinstance(message, TelemetryUplink):
                self._offer_telemetry(message)
            else:
                stored.append(message)
        if not stored:
            return out
        # One order for every process's batches (a gateway's own messages keep theirs): two
        # servers upserting the same gateways' rows in opposite orders deadlock.
        stored.sort(key=lambda m: m.gateway_id)

        def write_batch(session: Session) -> Outgoing:
            written = Outgoing(committed=True)
            for message in stored:
                self._record(session, message, now, written)
            return written

        try:
            batch = self._write(write_batch)
        except SQLAlchemyError as err:
            if is_store_fault(err):
                raise  # no message is to blame: the lane reports the store fault
            log.warning("a batch of %d messages failed; storing them one by one", len(stored))
            batch = Outgoing(committed=True)
            for message in stored:
                try:
                    batch.extend(self._write(partial(self._record_one, message, now)))
                except SQLAlchemyError as one:
                    if is_store_fault(one):
                        raise
                    log.exception("could not store %s %s", message.type, message.id)
        out.extend(batch)
        return out

    def _record_one(self, message: StoredMessage, now: datetime, session: Session) -> Outgoing:
        written = Outgoing(committed=True)
        self._record(session, message, now, written)
        return written

    def _record(
        self, session: Session, message: StoredMessage, now: datetime, out: Outgoing
    ) -> None:
        if isinstance(message, StatusMessage):
            before = session.scalar(select(Gateway.state).where(Gateway.id == message.gateway_id))
            record_status(session, message, now)
            # Its will, or a shutdown; news only if we thought it was up (a retained will
            # comes again on every reconnect, and missed heartbeats may have told us first).
            if message.body.state == "offline" and before not in ("offline", "silent"):
                self._gateway_offline(session, message.gateway_id, now, out)
        elif isinstance(message, EventMessage):
            record_event(session, message)
            # Events that gateways keep in their outbox (a cancelled fall) wait for this.
            out.publish.append(_receipt(message.gateway_id, message.id, now))

    def _write(self, work: Callable[[Session], _T]) -> _T:
        """``work`` in one transaction, run again (up to ``CONFLICT_ATTEMPTS`` times) when
        PostgreSQL rolls it back for a conflict with another server process's transaction."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                with self._sessions.begin() as session:
                    return work(session)
            except SQLAlchemyError as err:
                if not is_transaction_conflict(err) or attempt == CONFLICT_ATTEMPTS:
                    raise
                log.info(
                    "transaction conflict (attempt %d), run again: %s",
                    attempt,
                    getattr(err, "orig", err),
                )
        raise AssertionError("unreachable")

    def _alarm(self, message: AlarmMessage, now: datetime) -> Outgoing:
        def write_alarm(session: Session) -> tuple[Outgoing, bool]:
            written = Outgoing(committed=True)
            is_new = ingest_alarm(session, message, now)
            if is_new:
                self._announce_new(session, message.id, written)
            return written, is_new

        out, is_new = self._write(write_alarm)
        # Committed: now the gateway may forget it. A duplicate is answered too (the first
        # receipt may have been lost), marked as such.
        out.publish.append(_receipt(message.gateway_id, message.id, now, duplicate=not is_new))
        if is_new:
            if self._latency is not None:
                self._latency.observe(max(0.0, (now - message.gateway_time).total_seconds()))
            log.info(
                "alarm %s stored: %s from %s",
                message.id,
                message.body.kind.value,
                message.gateway_id,
            )
        else:
            self.counts["duplicate_alarm"] += 1
            log.info("alarm %s was already stored: receipt sent again", message.id)
        return out

    def _announce_new(self, session: Session, alarm_id: str, out: Outgoing) -> None:
        """Live event for a new alarm: NOTIFY inside this transaction on PostgreSQL (every
        server process hears it on commit), else handed to this process's hub after commit."""
        alarm = get_alarm(session, alarm_id)
        event = announce_change(session, "alarm.raised", alarm, via_database=self._notify)
        if event is not None:
            out.live.append(event)

    def _gateway_offline(
        self, session: Session, gateway_id: str, now: datetime, out: Outgoing
    ) -> None:
        gateway = session.get(Gateway, gateway_id)
        if gateway is None or gateway.state != "offline":
            return  # an older offline status than what we know: not news
        message = gateway_offline_alarm(gateway, now)
        if ingest_alarm(session, message, now):
            log.warning("gateway %s went offline: alarm %s", gateway_id, message.id)
            self._announce_new(session, message.id, out)

    def _unrouted_samples(self, message: SamplesMessage) -> Outgoing:
        """Samples belong to the centre's fall detector (server/ingest/cloud_falls.py), which
        the broker link hands them to; here they are only counted, never stored."""
        self.counts["samples_unrouted"] += 1
        log.warning("samples from %s reached the store's lane; not detected", message.gateway_id)
        return Outgoing()

    def _offer_telemetry(self, message: TelemetryUplink) -> None:
        """Telemetry may be thinned under pressure, alarms never: count what was shed."""
        found = points_of(message)
        if found.refused:
            self.counts["telemetry_invalid"] += found.refused
            log.warning(
                "%d telemetry point(s) from %s dropped: %s",
                found.refused,
                message.gateway_id,
                found.why_refused,
            )
        admitted = self._telemetry.offer_many(found.points)
        for admission in (Admission.DISPLACED_OLDEST, Admission.REFUSED):
            if admitted[admission]:
                # The writer logs the overload once per episode; here it is only counted.
                self.counts[f"telemetry_{admission.value}"] += admitted[admission]

    def _reject(self, topic: str, payload: bytes, err: MessageRejected, now: datetime) -> None:
        self.counts[f"rejected_{err.reason.value}"] += 1
        log.warning("rejected payload on %s: %s", topic, err)
        try:
            with self._sessions.begin() as session:
                record_rejected(session, topic, payload, err, now)
        except SQLAlchemyError as failed:
            if is_store_fault(failed):
                raise  # the lane reports the store fault, once per episode
            log.exception("could not record the rejected payload from %s", topic)


def _receipt(
    gateway_id: str, ref_id: str, now: datetime, *, duplicate: bool = False
) -> tuple[str, bytes]:
    receipt = ReceiptMessage(
        gateway_id=gateway_id,
        gateway_time=now,
        body=ReceiptBody(ref_id=ref_id, duplicate=duplicate),
    )
    return str(TopicName(gateway_id, Channel.RECEIPT)), encode(receipt)
