"""A resident's away periods: planned holidays, "away now until ..." and "back now".

Operators, supervisors and admins set them for any resident (the resident phones the centre);
a family account for its own resident only (anything else: 404, as if missing). Every change
is audited and pushed to the home's gateways as a new configuration revision
(``server/crud/away.py``); the gateways' setup (``GET /api/gateways/{id}/config``) says when
the broker has it and what the gateway answered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.orm import Session

from server.api.away_schemas import AwayNow, AwayPlan, AwayPublic
from server.api.deps import CentreDep, SessionDep
from server.api.permissions import ReadResident, SetAway
from server.api.scopes import check_resident
from server.centre import Centre
from server.crud import away
from server.crud.away import AwaySchedule

router = APIRouter(prefix="/residents/{resident_id}/away", tags=["away"])


@router.get("")
def get_away(resident_id: int, session: SessionDep, user: ReadResident) -> AwayPublic:
    check_resident(user, resident_id)
    now = datetime.now(UTC)
    return _public(resident_id, away.schedule(session, resident_id, now), now)


@router.put("")
def plan_away(
    resident_id: int, body: AwayPlan, session: SessionDep, centre: CentreDep, user: SetAway
) -> AwayPublic:
    """Replace the periods on record with ``periods`` (a period under way that is left out
    ends now)."""
    check_resident(user, resident_id)
    now = datetime.now(UTC)
    try:
        changed = away.plan(session, resident_id, body.periods, user.username, now)
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from err
    return _push(session, centre, resident_id, changed, now)


@router.post("/now")
def away_now(
    resident_id: int, body: AwayNow, session: SessionDep, centre: CentreDep, user: SetAway
) -> AwayPublic:
    """Away from now until ``until``, replacing the period under way, if any."""
    check_resident(user, resident_id)
    now = datetime.now(UTC)
    try:
        changed = away.away_now(session, resident_id, body.until, body.note, user.username, now)
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from err
    return _push(session, centre, resident_id, changed, now)


@router.post("/back")
def back_now(resident_id: int, session: SessionDep, centre: CentreDep, user: SetAway) -> AwayPublic:
    """The resident is home again: the period under way ends now; later plans stay."""
    check_resident(user, resident_id)
    now = datetime.now(UTC)
    changed = away.back_now(session, resident_id, user.username, now)
    return _push(session, centre, resident_id, changed, now)


def _push(
    session: Session, centre: Centre, resident_id: int, changed: AwaySchedule, now: datetime
) -> AwayPublic:
    """Commit, then publish each gateway's new revision (the periodic catch-up retries what
    the broker missed)."""
    session.commit()
    for gateway_id in changed.gateway_ids:
        centre.configs.publish(gateway_id)
    return _public(resident_id, changed, now)


def _public(resident_id: int, schedule: AwaySchedule, now: datetime) -> AwayPublic:
    return AwayPublic(
        resident_id=resident_id,
        home_id=schedule.home_id,
        gateway_ids=schedule.gateway_ids,
        periods=schedule.periods,
        away_now=schedule.under_way(now),
    )
