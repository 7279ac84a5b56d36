"""A resident's away periods: planned holidays, "away now until ..." and "back now".

Operators, supervisors and admins set them for any resident (the resident phones the centre),
up to 92 days a period; a family account for its own resident only (anything else: 404, as if
missing), and no stretch longer than ``SERVER_FAMILY_AWAY_MAX_DAYS`` (403 says so: the centre
sets longer ones). While the home is away its gateways raise no inactivity, night or check-in
alarm, so every change a family member makes is shown to the operators at once, as a live
``away.family_changed`` event (:mod:`server.api.away_notice`). Every change is audited and
pushed to the home's gateways as a new configuration revision (``server/crud/away.py``); the
gateways' setup (``GET /api/gateways/{id}/config``) says when the broker has it and what the
gateway answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.orm import Session

from server.api.away_notice import FAMILY, family_changed
from server.api.away_schemas import AwayNow, AwayPlan, AwayPublic
from server.api.deps import CentreDep, Operator, SessionDep
from server.api.permissions import ReadResident, SetAway
from server.api.scopes import check_resident
from server.centre import Centre
from server.crud import away
from server.crud.away import AwaySchedule, LongerThanAllowed, Setter
from server.crud.records import fetch
from server.db.care_models import Resident
from server.live_relay import announce_event

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
    with _refusals():
        changed = away.plan(session, resident_id, body.periods, _setter(centre, user), now)
    return _push(session, centre, user, "plan_away", resident_id, changed, now)


@router.post("/now")
def away_now(
    resident_id: int, body: AwayNow, session: SessionDep, centre: CentreDep, user: SetAway
) -> AwayPublic:
    """Away from now until ``until``, replacing the period under way, if any."""
    check_resident(user, resident_id)
    now = datetime.now(UTC)
    setter = _setter(centre, user)
    with _refusals():
        changed = away.away_now(session, resident_id, body.until, body.note, setter, now)
    return _push(session, centre, user, "away_now", resident_id, changed, now)


@router.post("/back")
def back_now(resident_id: int, session: SessionDep, centre: CentreDep, user: SetAway) -> AwayPublic:
    """The resident is home again: the period under way ends now; later plans stay."""
    check_resident(user, resident_id)
    now = datetime.now(UTC)
    changed = away.back_now(session, resident_id, _setter(centre, user), now)
    return _push(session, centre, user, "back_now", resident_id, changed, now)


@contextmanager
def _refusals() -> Iterator[None]:
    """A period longer than this account may set is 403 (the account's limit), any other
    unusable period 422."""
    try:
        yield
    except LongerThanAllowed as err:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(err)) from err
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from err


def _setter(centre: Centre, user: Operator) -> Setter:
    if user.role == FAMILY:
        longest = timedelta(days=centre.settings.family_away_max_days)
        return Setter(user.username, user.role, longest)
    return Setter(user.username, user.role)


def _push(
    session: Session,
    centre: Centre,
    user: Operator,
    action: str,
    resident_id: int,
    changed: AwaySchedule,
    now: datetime,
) -> AwayPublic:
    """Commit (with the operators' notice of a family member's change: on PostgreSQL it rides
    in the transaction), then publish each gateway's new revision (the periodic catch-up
    retries what the broker missed)."""
    shown = None
    if user.role == FAMILY:
        resident = fetch(session, Resident, resident_id, away.ENTITY)
        event = family_changed(user.username, action, resident, changed, now)
        shown = announce_event(session, event, via_database=centre.relay is not None)
    session.commit()
    if shown is not None:
        centre.hub.publish(shown)
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
