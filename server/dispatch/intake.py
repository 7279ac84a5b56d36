"""A new alarm meets the centre's records: which home and resident it is for, how urgent it
is for them, whether the engine escalates it, and a service order for a service request.

A gateway declares a home id of its own; when the centre maps the gateway to a home
(``home_gateways``), that home wins. An unknown gateway's alarm keeps what it declared and
waits for an operator: with no home on record there is nobody to rank and nowhere to go.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import AlarmKind
from server.crud import lifecycle
from server.crud.care import dispatch_settings
from server.db.care_models import Home, HomeGateway, Resident
from server.db.dispatch_models import ServiceOrder
from server.db.models import Alarm
from server.dispatch.priority import effective_priority


def take_in(session: Session, alarm: Alarm, now: datetime) -> None:
    """Record the alarm's arrival and link it, in the transaction that stores it."""
    lifecycle.record(session, alarm, "raised", f"gateway:{alarm.gateway_id}", now)
    mapping = session.get(HomeGateway, alarm.gateway_id)
    home = session.get(Home, mapping.home_id) if mapping is not None else None
    if home is None:
        return
    # A home with several residents: the alarm is for the first on record until the device
    # says whose it is (a per-device resident is future work).
    resident = session.scalars(
        select(Resident).where(Resident.home_id == home.id).order_by(Resident.id).limit(1)
    ).first()
    settings = dispatch_settings(session, home.organisation_id)
    alarm.home_id = home.id
    alarm.organisation_id = home.organisation_id
    if resident is not None:
        alarm.resident_id = resident.id
        alarm.priority = effective_priority(
            alarm.priority, resident.priority_groups, settings.priority_boost
        )
    if alarm.kind in settings.auto_dispatch_kinds:
        alarm.escalation_state = "pending"
        alarm.next_step_at = now  # the engine's next tick starts the ladder
    if alarm.kind == AlarmKind.SERVICE_REQUEST:
        session.add(
            ServiceOrder(
                alarm_id=alarm.id,
                home_id=home.id,
                resident_id=alarm.resident_id,
                organisation_id=home.organisation_id,
                service=None,
                state="requested",
                created_at=now,
                updated_at=now,
            )
        )
