"""The alarm lifecycle after acknowledgement: dispatch, the responder's progress, resolve,
notes, the full history, and suggested responders with their estimated arrival."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter
from sqlalchemy import select

from server.api.deps import CentreDep, SessionDep, commit_then
from server.api.dispatch_schemas import (
    AlarmActionPublic,
    CancelEscalationRequest,
    DispatchRequest,
    NoteRequest,
    ResolveRequest,
    ResponderAnswer,
    SuggestionPublic,
)
from server.api.permissions import HandleAlarms
from server.api.schemas import AlarmPublic
from server.api.scopes import AlarmId, ReadsAlarm, ReportsOnAlarm, ResolvesAlarm, check_responder
from server.crud import lifecycle
from server.crud.alarms import get_alarm
from server.db.care_models import Responder

router = APIRouter(prefix="/alarms", tags=["dispatch"])


@router.post("/{alarm_id}/dispatch")
def dispatch(
    alarm_id: AlarmId,
    body: DispatchRequest,
    session: SessionDep,
    user: HandleAlarms,
    centre: CentreDep,
) -> AlarmPublic:
    """Send a responder now: the one chosen, or the best suggestion. If they do not accept,
    the escalation ladder goes on from there."""
    after = centre.desk.dispatch(
        session, alarm_id, body.responder_id, user.username, datetime.now(UTC)
    )
    return _done(session, alarm_id, after)


@router.post("/{alarm_id}/escalation/cancel")
def cancel_escalation(
    alarm_id: AlarmId,
    body: CancelEscalationRequest,
    session: SessionDep,
    user: HandleAlarms,
    centre: CentreDep,
) -> AlarmPublic:
    after = centre.desk.cancel_escalation(
        session, alarm_id, user.username, datetime.now(UTC), body.note
    )
    return _done(session, alarm_id, after)


@router.post("/{alarm_id}/answer/{answer}")
def answer(
    alarm_id: AlarmId,
    answer: Literal["accept", "decline"],
    body: ResponderAnswer,
    session: SessionDep,
    user: ReportsOnAlarm,
    centre: CentreDep,
) -> AlarmPublic:
    """The asked responder answers. ``accept``: the ladder stops and they are busy;
    ``decline``: the next responder is asked at once. A responder account answers only for
    itself."""
    check_responder(user, body.responder_id)
    reply = centre.desk.accept if answer == "accept" else centre.desk.decline
    after = reply(session, alarm_id, body.responder_id, user.username, datetime.now(UTC))
    return _done(session, alarm_id, after)


@router.post("/{alarm_id}/progress/{to_state}")
def report_progress(
    alarm_id: AlarmId,
    to_state: Literal["en_route", "on_scene"],
    session: SessionDep,
    user: ReportsOnAlarm,
    centre: CentreDep,
) -> AlarmPublic:
    """The responder on the job has set off (``en_route``) or arrived (``on_scene``)."""
    after = centre.desk.advance(session, alarm_id, to_state, user.username, datetime.now(UTC))
    return _done(session, alarm_id, after)


@router.post("/{alarm_id}/resolve")
def resolve(
    alarm_id: AlarmId,
    body: ResolveRequest,
    session: SessionDep,
    user: ResolvesAlarm,
    centre: CentreDep,
) -> AlarmPublic:
    now = datetime.now(UTC)
    after = centre.desk.resolve(session, alarm_id, body.outcome, user.username, now, body.note)
    return _done(session, alarm_id, after)


@router.post("/{alarm_id}/notes")
def add_note(
    alarm_id: AlarmId, body: NoteRequest, session: SessionDep, user: HandleAlarms, centre: CentreDep
) -> AlarmPublic:
    after = centre.desk.note(session, alarm_id, body.note, user.username, datetime.now(UTC))
    return _done(session, alarm_id, after)


@router.get("/{alarm_id}/history")
def history(alarm_id: AlarmId, session: SessionDep, _user: ReadsAlarm) -> list[AlarmActionPublic]:
    """Every step taken since the alarm arrived, oldest first."""
    get_alarm(session, alarm_id)
    return [AlarmActionPublic.model_validate(a) for a in lifecycle.history(session, alarm_id)]


@router.get("/{alarm_id}/suggestions")
def suggestions(
    alarm_id: AlarmId, session: SessionDep, _user: HandleAlarms, centre: CentreDep
) -> list[SuggestionPublic]:
    """Who could go now, best first, with distance and estimated arrival."""
    ranked = centre.dispatch.suggest(session, get_alarm(session, alarm_id), datetime.now(UTC))
    ids = [s.responder_id for s in ranked]
    query = select(Responder.id, Responder.name).where(Responder.id.in_(ids))
    names = {responder_id: name for responder_id, name in session.execute(query)}
    return [
        SuggestionPublic(
            responder_id=s.responder_id,
            name=names.get(s.responder_id, ""),
            kind=s.kind,
            distance_m=s.distance_m,
            eta_s=s.eta_s,
            within_radius=s.within_radius,
            has_skills=s.has_skills,
            preferred=s.preferred,
        )
        for s in ranked
    ]


def _done(session: SessionDep, alarm_id: str, after: list[Callable[[], None]]) -> AlarmPublic:
    commit_then(session, after)
    return AlarmPublic.of(get_alarm(session, alarm_id))
