"""Handles one uplink payload: decode, store, answer. Transport-free, so tests can drive it.

Order for an alarm: commit to the store, then send the receipt (the gateway may now forget
it), then tell live subscribers. A duplicate gets a receipt too (its first receipt may have
been lost) but no second live event.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from protocol import (
    AlarmMessage,
    Channel,
    EventMessage,
    MessageRejected,
    ReceiptBody,
    ReceiptMessage,
    StatusMessage,
    TelemetryMessage,
    decode_uplink,
    encode,
)
from protocol.topics import TopicName
from server.api.schemas import live_event
from server.crud.alarms import get_alarm, ingest_alarm
from server.crud.ingest import record_event, record_rejected, record_status
from server.live_relay import notify_in_transaction
from server.telemetry import TelemetryStore, TelemetryWriteError

log = logging.getLogger(__name__)


@dataclass
class Outgoing:
    """What handling one payload asks the transport to do."""

    publish: list[tuple[str, bytes]] = field(default_factory=list)
    live: list[dict[str, Any]] = field(default_factory=list)


class UplinkHandler:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        telemetry: TelemetryStore,
        *,
        clock: Callable[[], float] = time.time,
        notify_in_transaction: bool = False,
    ) -> None:
        self._notify = notify_in_transaction
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
        out = Outgoing()
        with self._sessions.begin() as session:
            if isinstance(message, StatusMessage):
                record_status(session, message, now)
            elif isinstance(message, EventMessage):
                record_event(session, message)
                # Events that gateways keep in their outbox (a cancelled fall) wait for this.
                out.publish.append(_receipt(message.gateway_id, message.id, now))
        if isinstance(message, TelemetryMessage):
            try:
                self._write_telemetry(message)
            except (TelemetryWriteError, ValueError, OverflowError) as err:
                # Telemetry may be thinned, alarms never: count it, say it, move on.
                self.counts["telemetry_dropped"] += 1
                log.warning("telemetry point from %s dropped: %s", message.gateway_id, err)
        return out

    def _alarm(self, message: AlarmMessage, now: datetime) -> Outgoing:
        with self._sessions.begin() as session:
            is_new = ingest_alarm(session, message, now)
            event = None
            if is_new and self._notify:
                notify_in_transaction(session, "alarm.raised", message.id)
            elif is_new:
                event = live_event("alarm.raised", get_alarm(session, message.id))
        out = Outgoing(
            publish=[_receipt(message.gateway_id, message.id, now, duplicate=not is_new)]
        )
        if is_new:
            log.info(
                "alarm %s stored: %s from %s",
                message.id,
                message.body.kind.value,
                message.gateway_id,
            )
            if event is not None:
                out.live.append(event)
        else:
            self.counts["duplicate_alarm"] += 1
            log.info("alarm %s was already stored: receipt sent again", message.id)
        return out

    def _write_telemetry(self, message: TelemetryMessage) -> None:
        tags = {"gateway_id": message.gateway_id}
        if message.device_id:
            tags["device_id"] = message.device_id
        self._telemetry.write(
            message.body.measurement, tags, dict(message.body.fields), message.gateway_time
        )

    def _reject(self, topic: str, payload: bytes, err: MessageRejected, now: datetime) -> None:
        self.counts[f"rejected_{err.reason.value}"] += 1
        log.warning("rejected payload on %s: %s", topic, err)
        try:
            with self._sessions.begin() as session:
                record_rejected(session, topic, payload, err, now)
        except SQLAlchemyError:
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
