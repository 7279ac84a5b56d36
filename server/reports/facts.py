"""Reading a report's facts from the store: an organisation with everything below it, alarms
received in the period, their first arrival on scene, completed service orders, outages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from protocol import AlarmKind
from server.db.care_models import Home, HomeGateway, Organisation
from server.db.dispatch_models import AlarmAction, ServiceOrder
from server.db.models import Alarm, DeviceEvent
from server.reports.metrics import AlarmFacts, Outage


def organisation_scope(session: Session, organisation_id: int) -> list[int]:
    """The organisation and every one below it (a city's report covers its districts)."""
    scope, frontier = [organisation_id], [organisation_id]
    while frontier:
        frontier = list(
            session.scalars(select(Organisation.id).where(Organisation.parent_id.in_(frontier)))
        )
        scope.extend(frontier)
    return scope


def alarm_facts(
    session: Session, scope: Sequence[int], start: datetime, end: datetime
) -> list[AlarmFacts]:
    alarms = list(
        session.scalars(
            select(Alarm).where(
                Alarm.organisation_id.in_(scope),
                Alarm.received_at >= start,
                Alarm.received_at < end,
            )
        )
    )
    first_on_scene = (
        select(AlarmAction.alarm_id, func.min(AlarmAction.at))
        .where(AlarmAction.action == "on_scene", AlarmAction.alarm_id.in_([a.id for a in alarms]))
        .group_by(AlarmAction.alarm_id)
    )
    # Not dict(result): a Result has keys() (its column names), so dict() would take it for
    # a mapping.
    arrived = {alarm_id: at for alarm_id, at in session.execute(first_on_scene)}
    return [
        AlarmFacts(a.kind, a.received_at, a.acknowledged_at, arrived.get(a.id), a.outcome)
        for a in alarms
    ]


def service_orders_completed(
    session: Session, scope: Sequence[int], start: datetime, end: datetime
) -> int:
    query = select(func.count(ServiceOrder.id)).where(
        ServiceOrder.organisation_id.in_(scope),
        ServiceOrder.state == "completed",
        ServiceOrder.completed_at >= start,
        ServiceOrder.completed_at < end,
    )
    return int(session.scalar(query) or 0)


def gateways_in(session: Session, scope: Sequence[int]) -> list[str]:
    query = (
        select(HomeGateway.gateway_id)
        .join(Home, Home.id == HomeGateway.home_id)
        .where(Home.organisation_id.in_(scope))
    )
    return list(session.scalars(query))


def devices_of(session: Session, gateways: Sequence[str]) -> set[str]:
    """Devices the centre has heard of on these gateways (events or alarms, any time)."""
    events = select(DeviceEvent.gateway_id, DeviceEvent.device_id).where(
        DeviceEvent.gateway_id.in_(gateways), DeviceEvent.device_id.is_not(None)
    )
    alarms = select(Alarm.gateway_id, Alarm.device_id).where(
        Alarm.gateway_id.in_(gateways), Alarm.device_id.is_not(None)
    )
    rows = [*session.execute(events.distinct()), *session.execute(alarms.distinct())]
    return {f"{gateway}/{device}" for gateway, device in rows}


def outages(
    session: Session, gateways: Sequence[str], kind: AlarmKind, start: datetime, end: datetime
) -> list[Outage]:
    """Episodes from ``kind`` alarms (gateway_offline, device_silent) overlapping the period."""
    query = select(Alarm).where(
        Alarm.kind == kind.value,
        Alarm.gateway_id.in_(gateways),
        Alarm.received_at < end,
        or_(Alarm.resolved_at.is_(None), Alarm.resolved_at > start),
    )
    found = []
    for alarm in session.scalars(query):
        source = alarm.gateway_id
        if kind is AlarmKind.DEVICE_SILENT:
            source = f"{alarm.gateway_id}/{alarm.device_id}"
        found.append(Outage(source, alarm.received_at, alarm.resolved_at))
    return found
