"""Notification channels and the record of their deliveries, in SQL.

Channel changes are audited by field name only (``records.change``): the audit log must not
hold a webhook's secret or URL. Delivery attempts are added by the notifiers
(server/notify/stored_deliveries.py), outside any request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import Session

from server import Conflict
from server.crud import records
from server.db.care_models import Responder
from server.db.models import Alarm
from server.db.notify_models import (
    ERROR_LENGTH,
    NotificationChannel,
    NotificationChannelsVersion,
    NotificationDelivery,
)
from server.notify.deliveries import Delivery

ENTITY = "notification_channel"
VERSION_ROW = 1  # the one row of notification_channels_version (made by migration 0008)


def create_channel(
    session: Session, values: Mapping[str, Any], actor: str, now: datetime
) -> NotificationChannel:
    records.fetch(session, Responder, values["responder_id"], "responder")
    row = NotificationChannel(**values, enabled=True, created_at=now, updated_at=now)
    bump_channels_version(session)
    return records.add(session, row, actor, now, ENTITY)


def change_channel(
    session: Session, channel_id: int, values: Mapping[str, Any], actor: str, now: datetime
) -> NotificationChannel:
    """Change what ``values`` names; a webhook keeps a URL and a secret throughout."""
    row = records.fetch(session, NotificationChannel, channel_id, ENTITY)
    if row.kind != "webhook" and (values.keys() & {"url", "secret", "adapter"}):
        raise Conflict("an MQTT channel has no URL, secret or adapter to change")
    before = {k: getattr(row, k) for k in values}
    records.change(session, row, values, actor, now, ENTITY)
    if before != {k: getattr(row, k) for k in values}:
        row.updated_at = now
        bump_channels_version(session)
    return row


def bump_channels_version(session: Session) -> None:
    """Tell every server process's directory that the channels changed: call in the
    transaction that changes them, so the new number is seen with (not before) the change.
    On PostgreSQL the row lock also puts concurrent channel changes one after the other."""
    session.execute(
        update(NotificationChannelsVersion)
        .where(NotificationChannelsVersion.id == VERSION_ROW)
        .values(version=NotificationChannelsVersion.version + 1)
    )


def channels_version(session: Session) -> int:
    """The number ``bump_channels_version`` moves; one primary-key read."""
    found = session.get(NotificationChannelsVersion, VERSION_ROW, populate_existing=True)
    return 0 if found is None else found.version


def channels_query(responder_id: int | None = None) -> Select[NotificationChannel]:
    query = select(NotificationChannel).order_by(NotificationChannel.id)
    if responder_id is not None:
        query = query.where(NotificationChannel.responder_id == responder_id)
    return query


def every_channel(session: Session) -> list[NotificationChannel]:
    """All channels, disabled ones too (a disabled MQTT channel switches the default off)."""
    return list(session.scalars(channels_query()))


def deliveries_query(
    *,
    alarm_id: str | None = None,
    responder_id: int | None = None,
    channel_id: int | None = None,
) -> Select[NotificationDelivery]:
    """Newest attempt first."""
    query = select(NotificationDelivery).order_by(
        NotificationDelivery.at.desc(), NotificationDelivery.id.desc()
    )
    if alarm_id is not None:
        query = query.where(NotificationDelivery.alarm_id == alarm_id)
    if responder_id is not None:
        query = query.where(NotificationDelivery.responder_id == responder_id)
    if channel_id is not None:
        query = query.where(NotificationDelivery.channel_id == channel_id)
    return query


def add_attempt(session: Session, delivery: Delivery) -> None:
    """One row for the attempt ``delivery`` has just been through."""
    session.add(
        NotificationDelivery(
            alarm_id=delivery.alarm_id,
            responder_id=delivery.responder_id,
            channel_id=delivery.channel_id,
            channel=delivery.channel,
            target=delivery.target,
            notification_id=delivery.notification_id,
            ladder_attempt=delivery.ladder_attempt,
            attempt=delivery.attempts,
            outcome=delivery.state,
            status_code=delivery.last_status,
            # Cut to the column: PostgreSQL refuses a longer one, and the row with it.
            error=None if delivery.last_error is None else delivery.last_error[:ERROR_LENGTH],
            at=delivery.updated_at,
        )
    )


def expired_deliveries(session: Session, before: datetime, limit: int) -> list[int]:
    """Ids of up to ``limit`` delivery records made before ``before`` whose alarm was
    resolved before it too: an alarm still open keeps all its records, however old, and a
    resolved one keeps them for the retention period after it was closed."""
    query = (
        select(NotificationDelivery.id)
        .join(Alarm, Alarm.id == NotificationDelivery.alarm_id)
        .where(NotificationDelivery.at < before, Alarm.state == "resolved")
        .where(or_(Alarm.resolved_at.is_(None), Alarm.resolved_at < before))
        .order_by(NotificationDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def delete_deliveries(session: Session, ids: list[int]) -> None:
    session.execute(delete(NotificationDelivery).where(NotificationDelivery.id.in_(ids)))
