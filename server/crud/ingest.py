"""Storing what arrives from gateways: status, events, dead letters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from protocol import EventMessage, MessageRejected, StatusMessage
from server.db.models import DeviceEvent, Gateway, RejectedMessage

MAX_DEAD_LETTER_BYTES = 4096


def record_status(session: Session, message: StatusMessage, received_at: datetime) -> None:
    gateway = session.get(Gateway, message.gateway_id)
    if gateway is None:
        gateway = Gateway(id=message.gateway_id)
        session.add(gateway)
    gateway.home_id = message.body.home_id
    gateway.state = message.body.state
    gateway.heartbeat_interval_s = message.body.heartbeat_interval_s
    gateway.last_seen_at = received_at


def record_event(session: Session, message: EventMessage) -> None:
    if session.get(DeviceEvent, message.id) is not None:
        return
    session.add(
        DeviceEvent(
            id=message.id,
            gateway_id=message.gateway_id,
            device_id=message.device_id,
            kind=message.body.kind,
            detail=dict(message.body.detail),
            gateway_time=message.gateway_time,
        )
    )


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
