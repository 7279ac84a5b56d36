"""The dispatch engine: walks each due alarm one step up its escalation ladder.

``tick(now)`` is the only way time enters: tests call it with the moment they want; the
server calls it every ``SERVER_DISPATCH_TICK_S`` with the wall clock (server/periodic.py).

Never twice, across server processes on one PostgreSQL: each step takes one due alarm with
``SELECT ... FOR UPDATE SKIP LOCKED`` (another process skips a row this one holds, and on
commit the row's ``next_step_at`` has moved on, which PostgreSQL re-checks before handing it
to a waiter), and writes it with ``WHERE version = <read>`` (``version_id_col``), so even
without the lock a second writer fails instead of stepping again. Notifications go out only
after the step has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from server import Conflict
from server.crud import lifecycle
from server.crud.care import dispatch_settings
from server.db.care_models import Home, Resident, Responder
from server.db.models import Alarm
from server.dispatch.ladder import AlertOperator, Notify, Progress, chosen, next_step
from server.dispatch.notifier import Notifier, OperatorAlert, ResponderCall
from server.dispatch.ranking import Scene, Suggestion, assess, rank
from server.dispatch.settings import DispatchSettings

log = logging.getLogger(__name__)
ENGINE = "engine"
ESCALATING = ("pending", "active")

Announce = Callable[[Session, str, Alarm], Callable[[], None]]
AfterCommit = list[Callable[[], None]]


class DispatchEngine:
    def __init__(
        self, sessions: sessionmaker[Session], announce: Announce, notifier: Notifier
    ) -> None:
        self._sessions = sessions
        self.announce = announce
        self.notifier = notifier

    def tick(self, now: datetime, *, limit: int = 200) -> int:
        """Take every alarm whose timer has run out by ``now`` one step; returns how many."""
        skipped: list[str] = []
        steps = 0
        while steps < limit:
            after: AfterCommit = []
            alarm_id = ""
            try:
                with self._sessions.begin() as session:
                    alarm = session.scalars(_due(now, skipped)).first()
                    if alarm is None:
                        break
                    alarm_id = alarm.id
                    after = self.step(session, alarm, now)
            except Conflict:
                skipped.append(alarm_id)  # someone else changed it meanwhile: theirs stands
                continue
            steps += 1
            _run(after)
        return steps

    def step(self, session: Session, alarm: Alarm, now: datetime) -> AfterCommit:
        """One rung step for ``alarm`` (locked by the caller); what to run after commit."""
        settings = dispatch_settings(session, alarm.organisation_id)
        scene = scene_for(session, alarm)
        responders = available_responders(session)

        def candidates(level: int) -> Sequence[int]:
            kinds = settings.levels[level].kinds
            return [s.responder_id for s in rank(responders, scene, now, settings, kinds=kinds)]

        progress, step, wake = next_step(
            Progress.from_json(alarm.escalation), now, settings, candidates
        )
        alarm.escalation = progress.to_json()
        alarm.next_step_at = wake
        if isinstance(step, Notify):
            return self.ask(session, alarm, step, ENGINE, now)
        return self._alert_operator(session, alarm, step, now)

    def ask(
        self, session: Session, alarm: Alarm, step: Notify, actor: str, now: datetime
    ) -> AfterCommit:
        """Record and (after commit) send one notification to ``step.responder_id``."""
        alarm.escalation_state = "active"
        alarm.responder_id = step.responder_id
        detail = {"attempt": step.attempt, "level": step.level}
        if step.attempt == 1:
            lifecycle.move(
                session,
                alarm,
                "dispatched",
                actor,
                now,
                responder_id=step.responder_id,
                detail=detail,
            )
        else:
            lifecycle.record(
                session,
                alarm,
                "renotified",
                actor,
                now,
                responder_id=step.responder_id,
                detail=detail,
            )
        lifecycle.save(session)
        call = ResponderCall(
            alarm.id,
            step.responder_id,
            step.attempt,
            step.level,
            alarm.kind,
            alarm.home_id,
            alarm.priority,
            now,
            *where_and_when(session, alarm, step.responder_id),
        )
        kind = "alarm.dispatched" if step.attempt == 1 else "alarm.renotified"
        return [self.announce(session, kind, alarm), lambda: self.notifier.call_responder(call)]

    def dispatch_chosen(
        self, session: Session, alarm: Alarm, responder_id: int, actor: str, now: datetime
    ) -> AfterCommit:
        """An operator sends ``responder_id``; the ladder's timer keeps running behind them."""
        settings = dispatch_settings(session, alarm.organisation_id)
        progress = chosen(Progress.from_json(alarm.escalation), responder_id)
        alarm.escalation = progress.to_json()
        alarm.next_step_at = now + timedelta(seconds=settings.notify_timeout_s)
        return self.ask(session, alarm, Notify(responder_id, 1, progress.level), actor, now)

    def suggest(self, session: Session, alarm: Alarm, now: datetime) -> list[Suggestion]:
        """Every responder who could go now, of any kind, best first."""
        settings = dispatch_settings(session, alarm.organisation_id)
        return rank(available_responders(session), scene_for(session, alarm), now, settings)

    def settings_for(self, session: Session, alarm: Alarm) -> DispatchSettings:
        return dispatch_settings(session, alarm.organisation_id)

    def _alert_operator(
        self, session: Session, alarm: Alarm, step: AlertOperator, now: datetime
    ) -> AfterCommit:
        alarm.escalation_state = "exhausted"
        alarm.responder_id = None
        lifecycle.record(
            session, alarm, "operator_alerted", ENGINE, now, detail={"tried": step.tried}
        )
        lifecycle.save(session)
        alert = OperatorAlert(alarm.id, alarm.kind, alarm.home_id, alarm.priority, step.tried, now)
        return [
            self.announce(session, "alarm.escalated", alarm),
            lambda: self.notifier.alert_operator(alert),
        ]


def scene_for(session: Session, alarm: Alarm) -> Scene:
    """Where the alarm's home is and whom the resident prefers (nothing known: no position)."""
    home = session.get(Home, alarm.home_id) if alarm.organisation_id is not None else None
    resident = session.get(Resident, alarm.resident_id) if alarm.resident_id else None
    preferred = (resident.preferences or {}).get("preferred_responders", []) if resident else []
    return Scene(
        alarm_kind=alarm.kind,
        latitude=home.latitude if home else None,
        longitude=home.longitude if home else None,
        area=home.area if home else "urban",
        resident_id=alarm.resident_id,
        preferred=frozenset(int(r) for r in preferred),
    )


def where_and_when(
    session: Session, alarm: Alarm, responder_id: int
) -> tuple[str | None, float | None]:
    """The home's address and the responder's estimated arrival, for the notification."""
    home = session.get(Home, alarm.home_id) if alarm.organisation_id is not None else None
    responder = session.get(Responder, responder_id)
    if responder is None:
        return (home.address if home else None), None
    settings = dispatch_settings(session, alarm.organisation_id)
    return (home.address if home else None), assess(
        responder, scene_for(session, alarm), settings
    ).eta_s


def available_responders(session: Session) -> list[Responder]:
    return list(session.scalars(select(Responder).where(Responder.status == "available")))


def _due(now: datetime, skipped: Sequence[str]) -> Select[Alarm]:
    query = (
        select(Alarm)
        .where(Alarm.escalation_state.in_(ESCALATING), Alarm.next_step_at <= now)
        .order_by(Alarm.priority, Alarm.next_step_at, Alarm.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if skipped:
        query = query.where(Alarm.id.not_in(skipped))
    return query


def _run(after: AfterCommit) -> None:
    for action in after:
        try:
            action()
        except Exception:
            # The step is committed; a failed notification is retried by the ladder's next
            # repeat, and the console shows the alarm regardless.
            log.exception("after-commit action failed")
