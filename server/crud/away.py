"""A resident's away periods: kept in the home configuration of the home's gateways (no HTTP,
no broker).

The periods travel in ``HomeConfigBody.away`` (the gateway silences its home detectors while
the home is empty: ``gateway/detect/away.py``), stored in each configured gateway's entry at
the centre (``GatewayRegistration.config_entered``) and pushed as a new revision, retained, so
a gateway offline when they are set gets them on reconnecting. All of a home's gateways carry
the same periods. Periods that are over are dropped whenever the schedule is written, so the
configuration stays small. A home with no gateway configured by the centre has nowhere to keep
them: that is a conflict, not an empty schedule silently lost.

Activity at home ends a period early at the gateway, which tells the centre in an
``away_ended`` event. The schedule reads those events: a period with one from the home's
gateways inside it is over, so the API shows the resident home (the gateway keeps the early end
in its own state; the pushed configuration is not rewritten for it).

While the home is away the gateway raises no inactivity, night or check-in alarm, so who may
set how much is bounded: each :class:`Setter` has a longest stretch (a family account less than
the centre's staff, ``SERVER_FAMILY_AWAY_MAX_DAYS``). A period that adds away time, counted
together with the periods less than :data:`STRETCH_GAP` from it (back-to-back short periods
would otherwise make a long one), may last no longer; periods on record (an operator's longer
one) may be kept or shortened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import HomeConfigBody
from protocol.home_config import MAX_AWAY, AwayPeriod, check_away
from server import Conflict
from server.crud import audit, provisioning
from server.crud.records import fetch
from server.db.care_models import Resident
from server.db.models import DeviceEvent

ENTITY = "resident"
AWAY_ENDED = "away_ended"  # the gateway's event: activity at home ended a period early
# Periods closer than this are one stretch of empty home for a setter's limit: a day at home
# between them is a day the inactivity alarm watches again.
STRETCH_GAP = timedelta(days=1)


class LongerThanAllowed(ValueError):
    """A new or changed stretch of away time is longer than its setter may set."""


@dataclass(frozen=True)
class Setter:
    """Who changes a resident's away periods: named in the audit (with their role), and the
    longest stretch of away time they may set."""

    username: str
    role: str
    longest: timedelta = MAX_AWAY


@dataclass(frozen=True)
class AwaySchedule:
    home_id: str
    gateway_ids: list[str]
    periods: list[AwayPeriod]

    def under_way(self, now: datetime) -> AwayPeriod | None:
        return next((p for p in self.periods if p.start <= now < p.end), None)


def schedule(session: Session, resident_id: int, now: datetime) -> AwaySchedule:
    """The resident's home's away periods still to come or under way."""
    home_id = fetch(session, Resident, resident_id, ENTITY).home_id
    rows = provisioning.configured(session, home_id)
    periods = HomeConfigBody.model_validate(rows[0].config_entered).away if rows else []
    gateway_ids = [r.gateway_id for r in rows]
    upcoming = _upcoming(periods, now)
    ended = _ended_by_activity(session, gateway_ids, upcoming, now)
    return AwaySchedule(home_id, gateway_ids, [p for p in upcoming if p not in ended])


def _ended_by_activity(
    session: Session, gateway_ids: list[str], periods: list[AwayPeriod], now: datetime
) -> list[AwayPeriod]:
    """The periods under way or past their start that a gateway of the home has reported
    ended early by activity at home (an ``away_ended`` event inside the period)."""
    started = [p for p in periods if p.start <= now]
    if not started or not gateway_ids:
        return []
    times = session.scalars(
        select(DeviceEvent.gateway_time).where(
            DeviceEvent.kind == AWAY_ENDED,
            DeviceEvent.gateway_id.in_(gateway_ids),
            DeviceEvent.gateway_time >= min(p.start for p in started),
        )
    ).all()
    return [p for p in started if any(p.start <= t < p.end for t in times)]


def plan(
    session: Session, resident_id: int, periods: list[AwayPeriod], by: Setter, now: datetime
) -> AwaySchedule:
    """Replace the periods (in order, apart: the caller has checked) with ``periods``."""
    if any(p.end <= now for p in periods):
        raise ValueError("an away period is over already")
    _within_limit(schedule(session, resident_id, now).periods, periods, by)
    return _store(session, resident_id, periods, by, now, "plan_away")


def away_now(
    session: Session, resident_id: int, until: datetime, note: str, by: Setter, now: datetime
) -> AwaySchedule:
    """Away from ``now`` until ``until``: the period under way, if any, is replaced."""
    if until <= now:
        raise ValueError("until must be in the future")
    if until - now > MAX_AWAY:
        raise ValueError(f"an away period lasts at most {MAX_AWAY.days} days")
    current = schedule(session, resident_id, now)
    kept = [p for p in current.periods if p is not current.under_way(now)]
    periods = sorted([*kept, AwayPeriod(start=now, end=until, note=note)], key=lambda p: p.start)
    try:
        check_away(periods)
    except ValueError as err:
        raise Conflict(f"{err}: change the planned period instead") from err
    _within_limit(current.periods, periods, by)
    return _store(session, resident_id, periods, by, now, "away_now")


def back_now(session: Session, resident_id: int, by: Setter, now: datetime) -> AwaySchedule:
    """The resident is home: the period under way ends now; later plans stay."""
    current = schedule(session, resident_id, now)
    periods = [p for p in current.periods if p is not current.under_way(now)]
    return _store(session, resident_id, periods, by, now, "back_now")


def _within_limit(before: list[AwayPeriod], after: list[AwayPeriod], by: Setter) -> None:
    """Raise :class:`LongerThanAllowed` if a stretch of ``after`` (periods in time order) that
    holds away time not on record before lasts longer than ``by`` may set. A period inside one
    on record (the same, or shortened) adds none."""

    def adds_time(period: AwayPeriod) -> bool:
        return not any(k.start <= period.start and period.end <= k.end for k in before)

    for stretch in _stretches(after):
        start, end = stretch[0].start, stretch[-1].end
        if end - start > by.longest and any(adds_time(p) for p in stretch):
            raise LongerThanAllowed(
                f"away from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC lasts "
                f"{(end - start) / timedelta(days=1):.1f} days (periods less than "
                f"{STRETCH_GAP / timedelta(hours=1):.0f} h apart count together); "
                f"a {by.role} account may set at most {by.longest.days} days"
            )


def _stretches(periods: list[AwayPeriod]) -> list[list[AwayPeriod]]:
    stretches: list[list[AwayPeriod]] = []
    for period in periods:
        if stretches and period.start - stretches[-1][-1].end < STRETCH_GAP:
            stretches[-1].append(period)
        else:
            stretches.append([period])
    return stretches


def _store(
    session: Session,
    resident_id: int,
    periods: list[AwayPeriod],
    by: Setter,
    now: datetime,
    action: str,
) -> AwaySchedule:
    home_id = fetch(session, Resident, resident_id, ENTITY).home_id
    periods = _upcoming(periods, now)
    gateway_ids = provisioning.set_away(session, home_id, periods, by.username, now)
    if not gateway_ids:
        raise Conflict(
            f"home {home_id} has no gateway configured by the centre to keep away periods in"
        )
    detail = {
        "home_id": home_id,
        "periods": [p.model_dump(mode="json") for p in periods],
        "gateway_ids": gateway_ids,
        "role": by.role,
    }
    audit.record(session, by.username, action, ENTITY, resident_id, now, detail)
    return AwaySchedule(home_id, gateway_ids, periods)


def _upcoming(periods: list[AwayPeriod], now: datetime) -> list[AwayPeriod]:
    return [p for p in periods if p.end > now]
