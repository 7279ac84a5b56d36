"""What a responder needs to get to the resident of an alarm dispatched to them, and no
more: name, address, position, conditions, the first contact. The full record stays with the
centre; this read is audited like any read of a resident's record."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from server import NotFound
from server.api.deps import Now, SessionDep
from server.api.scopes import AlarmId, VisitsAlarm
from server.crud import care, records
from server.crud.alarms import get_alarm
from server.db.care_models import Home

router = APIRouter(prefix="/alarms", tags=["dispatch"])


class VisitPublic(BaseModel):
    alarm_id: str
    resident_id: int
    name: str
    address: str
    latitude: float
    longitude: float
    conditions: list[str]
    first_contact: dict[str, object] | None


@router.get("/{alarm_id}/visit")
def visit(alarm_id: AlarmId, session: SessionDep, user: VisitsAlarm, now: Now) -> VisitPublic:
    alarm = get_alarm(session, alarm_id)
    if alarm.resident_id is None:
        raise NotFound(f"alarm {alarm_id} has no resident on record")
    resident = care.read_resident(session, alarm.resident_id, user.username, now)
    home = records.fetch(session, Home, resident.home_id, "home")
    session.commit()
    contacts = list(resident.contacts or [])
    return VisitPublic(
        alarm_id=alarm.id,
        resident_id=resident.id,
        name=resident.name,
        address=home.address,
        latitude=home.latitude,
        longitude=home.longitude,
        conditions=[str(c) for c in resident.conditions or []],
        first_contact=dict(contacts[0]) if contacts else None,
    )
