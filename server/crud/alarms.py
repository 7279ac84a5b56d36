"""Alarms: idempotent ingest (linked to the home on record), listing, acknowledgement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from protocol import AlarmMessage
from server import NotFound
from server.crud import lifecycle
from server.db.models import Alarm
from server.db.upsert import dialect_insert
from server.dispatch.intake import take_in


def ingest_alarm(session: Session, message: AlarmMessage, received_at: datetime) -> bool:
    """Store the alarm unless its id is known; True if it is new.

    ``INSERT ... ON CONFLICT DO NOTHING`` rather than read-then-write, so two server processes
    racing on the same message id still store it once.
    """
    values = {
        "id": message.id,
        "gateway_id": message.gateway_id,
        "home_id": message.body.home_id,
        "device_id": message.device_id,
        "kind": message.body.kind.value,
        "priority": message.body.priority,
        "device_time": message.device_time,
        "gateway_time": message.gateway_time,
        "received_at": received_at,
        "status": "open",
        "state": "raised",
        "version": 1,
        "message": message.model_dump(mode="json"),
    }
    stmt = (
        dialect_insert(session)(Alarm)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(Alarm.id)  # rowcount is not reliable across drivers; RETURNING is
    )
    if session.execute(stmt).scalar_one_or_none() is None:
        return False
    take_in(session, get_alarm(session, message.id), received_at)
    session.flush()
    return True


def list_alarms(
    session: Session,
    *,
    status: str | None = None,
    state: str | None = None,
    limit: int = 100,
    offset: int = 0,
    after: tuple[datetime, str] | None = None,
    scope: ColumnElement[bool] | None = None,
) -> list[Alarm]:
    """Newest first (received time, then id); ``after`` is the key of the last row already
    read, so rows stored meanwhile, all newer, never shift the next page. ``scope`` limits the
    listing to what the asker may see."""
    query = select(Alarm).order_by(Alarm.received_at.desc(), Alarm.id).limit(limit).offset(offset)
    if after is not None:
        at, key = after
        query = query.where(
            or_(Alarm.received_at < at, and_(Alarm.received_at == at, Alarm.id > key))
        )
    if scope is not None:
        query = query.where(scope)
    if status is not None:
        query = query.where(Alarm.status == status)
    if state is not None:
        query = query.where(Alarm.state == state)
    return list(session.scalars(query))


def get_alarm(session: Session, alarm_id: str) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound(f"alarm {alarm_id} not found")
    return alarm


def acknowledge(
    session: Session, alarm_id: str, operator: str, now: datetime
) -> tuple[Alarm, bool]:
    """Mark the alarm acknowledged by an operator; the bool says whether this call changed it.

    Row lock on PostgreSQL so two operators pressing at once yield one acknowledgement. The
    engine may have dispatched already: then the state stays, the acknowledgement is noted.
    """
    alarm = session.scalars(select(Alarm).where(Alarm.id == alarm_id).with_for_update()).first()
    if alarm is None:
        raise NotFound(f"alarm {alarm_id} not found")
    if alarm.acknowledged_at is not None:
        return alarm, False
    alarm.acknowledged_at = now
    alarm.acknowledged_by = operator
    if alarm.state == "raised":
        lifecycle.move(session, alarm, "acknowledged", operator, now)
    else:
        alarm.status = lifecycle.coarse_status(alarm)
        lifecycle.record(session, alarm, "acknowledged", operator, now)
    lifecycle.save(session)
    return alarm, True
