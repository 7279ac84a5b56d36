"""Notification channels (admins configure them) and the record of every delivery attempt
(supervisors and admins read it, for all alarms or next to one alarm's history).

A change takes effect in this process at the next notification (the directory's cache is
invalidated after the commit) and in other server processes within the cache's refresh time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from server.api.care_schemas import Page
from server.api.deps import CentreDep, Now, SessionDep
from server.api.notify_schemas import (
    ChannelCreate,
    ChannelPublic,
    ChannelUpdate,
    DeliveryPublic,
    RecordId,
)
from server.api.pagination import Limit, Offset
from server.api.permissions import ManageNotifications, ReadNotifications
from server.api.scopes import AlarmId
from server.crud import notify, records
from server.db.models import Alarm
from server.db.notify_models import NotificationChannel

router = APIRouter(tags=["notifications"])
CHANNELS = "/notification-channels"
ALARM_ID = r"^[0-9a-f]{32}$"


@router.get(CHANNELS)
def list_channels(
    session: SessionDep,
    _user: ReadNotifications,
    responder_id: RecordId | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ChannelPublic]:
    rows, total = records.page(session, notify.channels_query(responder_id), limit, offset)
    items = [ChannelPublic.of(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(CHANNELS, status_code=status.HTTP_201_CREATED)
def create_channel(
    body: ChannelCreate, session: SessionDep, user: ManageNotifications, now: Now, centre: CentreDep
) -> ChannelPublic:
    values = body.model_dump(exclude={"url", "secret"})
    if body.url is not None and body.secret is not None:
        values |= {"url": body.url.get_secret_value(), "secret": body.secret.get_secret_value()}
    row = notify.create_channel(session, centre.notify.secrets.sealed(values), user.username, now)
    session.commit()
    centre.notify.directory.invalidate()
    return ChannelPublic.of(row)


@router.get(CHANNELS + "/{channel_id}")
def get_channel(
    channel_id: RecordId, session: SessionDep, _user: ReadNotifications
) -> ChannelPublic:
    return ChannelPublic.of(records.fetch(session, NotificationChannel, channel_id, notify.ENTITY))


@router.patch(CHANNELS + "/{channel_id}")
def update_channel(
    channel_id: RecordId,
    body: ChannelUpdate,
    session: SessionDep,
    user: ManageNotifications,
    now: Now,
    centre: CentreDep,
) -> ChannelPublic:
    changes = centre.notify.secrets.sealed(body.changes())
    row = notify.change_channel(session, channel_id, changes, user.username, now)
    session.commit()
    centre.notify.directory.invalidate()
    return ChannelPublic.of(row)


@router.get("/notification-deliveries")
def list_deliveries(
    session: SessionDep,
    _user: ReadNotifications,
    alarm_id: Annotated[str | None, Query(pattern=ALARM_ID)] = None,
    responder_id: RecordId | None = None,
    channel_id: RecordId | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DeliveryPublic]:
    """Every attempt, newest first."""
    query = notify.deliveries_query(
        alarm_id=alarm_id, responder_id=responder_id, channel_id=channel_id
    )
    rows, total = records.page(session, query, limit, offset)
    items = [DeliveryPublic.of(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/alarms/{alarm_id}/deliveries")
def alarm_deliveries(
    alarm_id: AlarmId, session: SessionDep, _user: ReadNotifications
) -> list[DeliveryPublic]:
    """The alarm's notification attempts, oldest first, to read beside its history."""
    records.fetch(session, Alarm, alarm_id, "alarm")
    rows = session.scalars(notify.deliveries_query(alarm_id=alarm_id)).all()
    return [DeliveryPublic.of(r) for r in reversed(rows)]
