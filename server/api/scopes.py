"""Record-level checks for the scoped roles (``server/api/permissions.py``).

A responder account sees an alarm while it is dispatched to its responder; a family account
sees its resident's alarms and record. Whatever is out of scope raises ``NotFound`` with the
same message a missing record gets, so the answer (404) reveals nothing about existence.
The checks are dependencies taking the path's id, so a route cannot forget them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, status
from sqlalchemy import ColumnElement, false

from server import NotFound
from server.api.deps import CentreDep, CurrentUser, Operator
from server.api.permissions import Permission, authorise, is_scoped
from server.db.models import Alarm

AlarmId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the alarm's message id")]


def alarm_filter(user: Operator) -> ColumnElement[bool] | None:
    """The WHERE clause limiting an alarm listing to ``user``'s scope (None: everything)."""
    if user.role == "responder":
        return Alarm.responder_id == user.responder_id if user.responder_id else false()
    if user.role == "family":
        return Alarm.resident_id == user.resident_id if user.resident_id else false()
    return None


def sees_alarm(user: Operator, alarm: Alarm) -> bool:
    if user.role == "responder":
        return user.responder_id is not None and alarm.responder_id == user.responder_id
    if user.role == "family":
        return user.resident_id is not None and alarm.resident_id == user.resident_id
    return True


def check_resident(user: Operator, resident_id: int) -> None:
    if is_scoped(user) and (user.role != "family" or user.resident_id != resident_id):
        raise NotFound(f"resident {resident_id} not found")


def check_responder(user: Operator, responder_id: int) -> None:
    """A responder account acts only as its own responder (answers, status)."""
    if is_scoped(user) and (user.role != "responder" or user.responder_id != responder_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="you act only as yourself")


def _on_alarm(permission: Permission) -> object:
    def check(alarm_id: AlarmId, user: CurrentUser, centre: CentreDep) -> Operator:
        authorise(user, permission)
        if is_scoped(user):
            with centre.sessions() as session:
                alarm = session.get(Alarm, alarm_id)
                if alarm is None or not sees_alarm(user, alarm):
                    raise NotFound(f"alarm {alarm_id} not found")
        return user

    return Depends(check)


ReadsAlarm = Annotated[Operator, _on_alarm(Permission.READ_ALARMS)]
ReportsOnAlarm = Annotated[Operator, _on_alarm(Permission.REPORT_PROGRESS)]
ResolvesAlarm = Annotated[Operator, _on_alarm(Permission.RESOLVE_ALARMS)]
VisitsAlarm = Annotated[Operator, _on_alarm(Permission.READ_VISIT)]
