"""Storing what arrives from gateways: status, events, dead letters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from protocol import EventMessage, MessageRejected, StatusMessage
from server.db.models import DeviceEvent, Gateway, RejectedMessage
from server.db.upsert import dialect_insert

MAX_DEAD_LETTER_BYTES = 4096


def record_status(session: Session, message: StatusMessage, received_at: datetime) -> None:
    """Upsert the gateway's state. Several server processes may handle statuses of the same
    gateway at once (a retained status reaches every subscriber), so no read-then-write; an
    older status never overwrites a newer one."""
    values = {
        "id": message.gateway_id,
        "home_id": message.body.home_id,
        "state": message.body.state,
        "heartbeat_interval_s": message.body.heartbeat_interval_s,
        "last_seen_at": received_at,
    }
    # "Last seen" is when the gateway was last heard alive: its will (offline) does not move
    # it, so the silence it ends has one start, whichever way the centre learns of it.
    updated = [
        k
        for k in values
        if k != "id" and not (k == "last_seen_at" and values["state"] == "offline")
    ]
    stmt = dialect_insert(session)(Gateway).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={k: stmt.excluded[k] for k in updated},
        where=Gateway.last_seen_at <= stmt.excluded.last_seen_at,
    )
    session.execute(stmt)


def record_event(session: Session, message: EventMessage) -> None:
    values = {
        "id": message.id,
        "gateway_id": message.gateway_id,
        "device_id": message.device_id,
        "kind": message.body.kind,
        "detail": dict(message.body.detail),
        "gateway_time": message.gateway_time,
    }
    stmt = dialect_insert(session)(DeviceEvent).values(**values)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))


def record_rejected(
    session: Session, topic: str, payload: bytes, error: MessageRejected, received_at: datetime
) -> None:
    text = payload[:MAX_DEAD_LETTER_BYTES].decode("utf-8", errors="backslashreplace")
    session.add(
        RejectedMessage(
            received_at=received_at,
            topic=topic[:512],
            reason=error.reason.value,
            detail=error.detail[:2000],
            payload=text,
        )
    )
