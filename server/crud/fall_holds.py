"""Cloud wearables' held falls in SQL: written at detection, read back by whichever server
process runs detection next, removed once the alarm is stored or the wearer cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from protocol import AlarmMessage
from server.db.fall_hold_models import CloudFallHold


@dataclass(frozen=True)
class HeldFall:
    """A possible fall waiting out its cancel window."""

    wearer: str  # "<account>/<device>"
    alarm: AlarmMessage  # built at detection: its id never changes
    t_detect: float  # device time of the decision: a press after it answers the prompt
    until: float  # centre time (epoch seconds) the window ends


def add_hold(session: Session, hold: HeldFall) -> None:
    """Write ``hold`` (again, if a write that failed half-way did land: merged by id)."""
    session.merge(
        CloudFallHold(
            alarm_id=hold.alarm.id,
            wearer=hold.wearer,
            alarm=hold.alarm.model_dump(mode="json"),
            t_detect=hold.t_detect,
            until=datetime.fromtimestamp(hold.until, UTC),
        )
    )


def remove_hold(session: Session, alarm_id: str) -> None:
    session.execute(delete(CloudFallHold).where(CloudFallHold.alarm_id == alarm_id))


def open_holds(session: Session) -> list[HeldFall]:
    """Every hold not yet ended, oldest window first."""
    rows = session.scalars(select(CloudFallHold).order_by(CloudFallHold.until))
    return [
        HeldFall(
            wearer=row.wearer,
            alarm=AlarmMessage.model_validate(row.alarm),
            t_detect=row.t_detect,
            until=row.until.timestamp(),
        )
        for row in rows
    ]
