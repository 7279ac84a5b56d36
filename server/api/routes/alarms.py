"""Alarms: the queue the operator works from, and acknowledging one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from protocol import CommandBody, CommandKind, CommandMessage
from server import NotFound
from server.api.deps import CentreDep, SessionDep
from server.api.pagination import Cursor, CursorText, Limit, Offset
from server.api.permissions import HandleAlarms, ReadAlarms
from server.api.schemas import AlarmDetail, AlarmPublic
from server.api.scopes import AlarmId, ReadsAlarm, alarm_filter
from server.crud import alarms as crud
from server.crud.lifecycle import AlarmState

router = APIRouter(prefix="/alarms", tags=["alarms"])
log = logging.getLogger(__name__)
__all__ = ["AlarmId", "router"]


NEXT_PAGE = {
    "Link": {
        "description": '<the next page>; rel="next", when this page is full (cursor based)',
        "schema": {"type": "string"},
    }
}


@router.get("", responses={200: {"headers": NEXT_PAGE}})
def list_alarms(
    request: Request,
    response: Response,
    session: SessionDep,
    user: ReadAlarms,
    status_: Annotated[
        Literal["open", "acknowledged", "resolved"] | None, Query(alias="status")
    ] = None,
    state: AlarmState | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    after: CursorText = None,
) -> list[AlarmPublic]:
    """Newest first. ``status`` is the operator's view (open: no operator has taken it);
    ``state`` the lifecycle. A responder or family account sees only its own alarms.

    A full page comes with a ``Link`` header naming the next page by cursor (``after``):
    follow it to read every alarm once, even while new ones arrive (offset pages shift then).
    ``offset`` still works, counted from the cursor when both are given."""
    try:
        start = Cursor.decode(after) if after is not None else None
    except ValueError as err:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="after: not a cursor of this list"
        ) from err
    alarms = crud.list_alarms(
        session,
        status=status_,
        state=state,
        limit=limit,
        offset=offset,
        after=(start.at, start.key) if start is not None else None,
        scope=alarm_filter(user),
    )
    if len(alarms) == limit:
        last = Cursor(alarms[-1].received_at, alarms[-1].id).encode()
        url = request.url.remove_query_params("offset").include_query_params(after=last)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
    return [AlarmPublic.of(a) for a in alarms]


@router.get("/{alarm_id}")
def get_alarm(alarm_id: AlarmId, session: SessionDep, _user: ReadsAlarm) -> AlarmDetail:
    try:
        return AlarmDetail.of(crud.get_alarm(session, alarm_id))
    except NotFound as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(err)) from err


@router.post("/{alarm_id}/acknowledge")
def acknowledge(
    alarm_id: AlarmId, session: SessionDep, user: HandleAlarms, centre: CentreDep
) -> AlarmPublic:
    """The operator takes the alarm; the resident's device is told that help is coming."""
    now = datetime.now(UTC)
    try:
        alarm, changed = crud.acknowledge(session, alarm_id, user.username, now)
    except NotFound as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(err)) from err
    announce = centre.announce(session, "alarm.acknowledged", alarm) if changed else None
    session.commit()
    if announce is not None:
        announce()
    if changed:
        log.info("alarm %s acknowledged by %s", alarm.id, user.username)
        if centre.broker is not None:
            centre.broker.send_command(
                CommandMessage(
                    gateway_id=alarm.gateway_id,
                    device_id=alarm.device_id,
                    gateway_time=now,
                    body=CommandBody(
                        kind=CommandKind.ALARM_HANDLED, alarm_id=alarm.id, operator=user.username
                    ),
                )
            )
    return AlarmPublic.of(alarm)
