"""What people do to an alarm after it is raised: an operator dispatches (a suggested or a
chosen responder) or stops the escalation; a responder accepts, declines, sets off, arrives;
someone resolves it with an outcome or adds a note.

Each action locks the alarm row (``FOR UPDATE``; the engine's ``SKIP LOCKED`` then passes it
by), changes it in the caller's transaction, and returns what to run once that commits: the
live event, and any notification.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import Conflict, NotFound
from server.crud import lifecycle
from server.crud.records import fetch
from server.db.care_models import Responder
from server.db.models import Alarm
from server.dispatch.engine import AfterCommit, DispatchEngine
from server.dispatch.ladder import Progress, declined


class DispatchDesk:
    def __init__(self, engine: DispatchEngine) -> None:
        self.engine = engine

    def dispatch(
        self,
        session: Session,
        alarm_id: str,
        responder_id: int | None,
        actor: str,
        now: datetime,
    ) -> AfterCommit:
        """Send ``responder_id``, or the best suggestion when None (``Conflict`` if nobody
        can go)."""
        alarm = locked(session, alarm_id)
        if responder_id is None:
            suggestions = self.engine.suggest(session, alarm, now)
            if not suggestions:
                raise Conflict("no responder can go now; choose one")
            responder_id = suggestions[0].responder_id
        else:
            fetch(session, Responder, responder_id, "responder")
        return self.engine.dispatch_chosen(session, alarm, responder_id, actor, now)

    def cancel_escalation(
        self, session: Session, alarm_id: str, actor: str, now: datetime, note: str | None
    ) -> AfterCommit:
        """The operator takes over: no more automatic notifications for this alarm."""
        alarm = locked(session, alarm_id)
        if alarm.escalation_state not in ("pending", "active", "exhausted"):
            raise Conflict(f"alarm {alarm_id} has no escalation running")
        _stop_escalation(alarm, "cancelled")
        lifecycle.record(session, alarm, "escalation_cancelled", actor, now, note=note)
        return self._saved(session, "alarm.escalation_cancelled", alarm)

    def accept(
        self, session: Session, alarm_id: str, responder_id: int, actor: str, now: datetime
    ) -> AfterCommit:
        alarm = self._asked(session, alarm_id, responder_id)
        lifecycle.move(session, alarm, "accepted", actor, now, responder_id=responder_id)
        _stop_escalation(alarm, "accepted")
        fetch(session, Responder, responder_id, "responder").status = "busy"
        return self._saved(session, "alarm.accepted", alarm)

    def decline(
        self, session: Session, alarm_id: str, responder_id: int, actor: str, now: datetime
    ) -> AfterCommit:
        """The asked responder cannot go: the engine's next tick asks the next one."""
        alarm = self._asked(session, alarm_id, responder_id)
        settings = self.engine.settings_for(session, alarm)
        alarm.escalation = declined(Progress.from_json(alarm.escalation), settings).to_json()
        if alarm.escalation_state in ("pending", "active"):
            alarm.next_step_at = now
        lifecycle.record(session, alarm, "declined", actor, now, responder_id=responder_id)
        return self._saved(session, "alarm.declined", alarm)

    def advance(
        self, session: Session, alarm_id: str, to_state: str, actor: str, now: datetime
    ) -> AfterCommit:
        """The responder on the job reports: ``en_route`` or ``on_scene``."""
        alarm = locked(session, alarm_id)
        lifecycle.move(session, alarm, to_state, actor, now, responder_id=alarm.responder_id)
        return self._saved(session, f"alarm.{to_state}", alarm)

    def resolve(
        self,
        session: Session,
        alarm_id: str,
        outcome: str,
        actor: str,
        now: datetime,
        note: str | None,
    ) -> AfterCommit:
        alarm = locked(session, alarm_id)
        lifecycle.move(
            session, alarm, "resolved", actor, now, note=note, detail={"outcome": outcome}
        )
        alarm.outcome = outcome
        alarm.resolved_at = now
        if alarm.escalation_state in ("pending", "active"):
            _stop_escalation(alarm, "cancelled")
        if alarm.responder_id is not None:
            responder = session.get(Responder, alarm.responder_id)
            if responder is not None and responder.status == "busy":
                responder.status = "available"  # free for the next alarm
        return self._saved(session, "alarm.resolved", alarm)

    def note(
        self, session: Session, alarm_id: str, text: str, actor: str, now: datetime
    ) -> AfterCommit:
        alarm = locked(session, alarm_id)
        lifecycle.record(session, alarm, "note", actor, now, note=text)
        return self._saved(session, "alarm.note", alarm)

    def _asked(self, session: Session, alarm_id: str, responder_id: int) -> Alarm:
        alarm = locked(session, alarm_id)
        if alarm.responder_id != responder_id:
            raise Conflict(f"responder {responder_id} is not the one asked for alarm {alarm_id}")
        return alarm

    def _saved(self, session: Session, kind: str, alarm: Alarm) -> AfterCommit:
        lifecycle.save(session)
        return [self.engine.announce(session, kind, alarm)]


def locked(session: Session, alarm_id: str) -> Alarm:
    """The alarm, row-locked for this transaction on PostgreSQL."""
    alarm = session.scalars(select(Alarm).where(Alarm.id == alarm_id).with_for_update()).first()
    if alarm is None:
        raise NotFound(f"alarm {alarm_id} not found")
    return alarm


def _stop_escalation(alarm: Alarm, how: str) -> None:
    alarm.escalation_state = how
    alarm.next_step_at = None
