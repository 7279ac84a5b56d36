"""The alarm lifecycle: which steps may follow which, and the history row for each.

::

    raised ─► acknowledged ─► dispatched ─► accepted ─► en_route ─► on_scene ─► resolved
       └──────────────────────►┘   ▲  │                                  ▲
                     (the engine)  └──┘ (next responder, or re-sent)     └─ from any state

An operator's acknowledgement is a fact of its own (``acknowledged_at``, the 60-second
answer target): the engine may already have dispatched, so acknowledging later never moves
an alarm back. ``status``, the console's coarse view from before the lifecycle, follows:
``open`` until an operator acknowledges, ``acknowledged`` after, ``resolved`` at the end.

Changes go through the ORM with ``version_id_col``: the UPDATE says ``WHERE version = <read>``,
so of two writers one wins and the other gets ``Conflict`` (flush raises StaleDataError).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from server import Conflict
from server.crud import audit
from server.db.dispatch_models import AlarmAction
from server.db.models import Alarm

AlarmState = Literal[
    "raised", "acknowledged", "dispatched", "accepted", "en_route", "on_scene", "resolved"
]
STATES: tuple[str, ...] = get_args(AlarmState)
OUTCOMES = ("real_emergency", "false_alarm", "test", "cancelled")
_OPEN_STATES = frozenset(STATES) - {"resolved"}
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "acknowledged": frozenset({"raised"}),
    "dispatched": frozenset({"raised", "acknowledged", "dispatched", "accepted"}),
    "accepted": frozenset({"dispatched"}),
    "en_route": frozenset({"accepted"}),
    "on_scene": frozenset({"accepted", "en_route"}),
    "resolved": _OPEN_STATES,
}


def coarse_status(alarm: Alarm) -> str:
    if alarm.state == "resolved":
        return "resolved"
    return "open" if alarm.acknowledged_at is None else "acknowledged"


def move(
    session: Session,
    alarm: Alarm,
    to_state: str,
    actor: str,
    now: datetime,
    *,
    responder_id: int | None = None,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Take ``alarm`` to ``to_state`` and record who did it; ``Conflict`` if not allowed."""
    if alarm.state not in ALLOWED_FROM[to_state]:
        raise Conflict(f"alarm {alarm.id} is {alarm.state}; it cannot become {to_state}")
    alarm.state = to_state
    alarm.status = coarse_status(alarm)
    record(
        session, alarm, to_state, actor, now, responder_id=responder_id, note=note, detail=detail
    )


def record(
    session: Session,
    alarm: Alarm,
    action: str,
    actor: str,
    now: datetime,
    *,
    responder_id: int | None = None,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add a history row (and its audit entry) for ``alarm``, without changing its state."""
    detail = detail or {}
    session.add(
        AlarmAction(
            alarm_id=alarm.id,
            action=action,
            actor=actor[:80],
            at=now,
            responder_id=responder_id,
            note=note,
            detail=detail,
        )
    )
    audit_detail = {**detail, "responder_id": responder_id} if responder_id else detail
    audit.record(session, actor, action, "alarm", alarm.id, now, audit_detail)


def save(session: Session) -> None:
    """Flush the changes; a concurrent writer that got there first makes this ``Conflict``."""
    try:
        session.flush()
    except StaleDataError as err:
        raise Conflict("the alarm was changed by someone else meanwhile; reload it") from err


def history(session: Session, alarm_id: str) -> list[AlarmAction]:
    query = select(AlarmAction).where(AlarmAction.alarm_id == alarm_id)
    return list(session.scalars(query.order_by(AlarmAction.at, AlarmAction.id)))
