"""The care records' part of a home's pushed configuration (no HTTP, no broker).

An installer enters a home's configuration (devices, rooms, detector settings, a resident
profile); the residents' records at the centre are the authority for what they say about the
resident, and the configuration pushed is the entry with that applied:

- ``dementia``: any resident of the home in the ``dementia`` priority group (the shorter
  night limits), or the installer's choice;
- ``checkin_due``: the first resident on record with a daily check-in time (alarms are
  attributed to the first on record too, ``server/dispatch/intake.py``), else the
  installer's.

So a change to a resident's record can change the pushed configuration: the routes that
change residents call :func:`server.crud.provisioning.refresh_home` afterwards.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import HomeConfigBody
from server.db.care_models import Resident


def apply_care_records(session: Session, home_id: str, entered: HomeConfigBody) -> HomeConfigBody:
    """``entered`` as pushed to ``home_id``'s gateways, its revision unchanged."""
    residents = session.execute(
        select(Resident.priority_groups, Resident.checkin_due)
        .where(Resident.home_id == home_id)
        .order_by(Resident.id)
    ).all()
    dementia = entered.resident.dementia or any("dementia" in (g or []) for g, _ in residents)
    recorded = [due for _, due in residents if due is not None]
    checkin_due = recorded[0] if recorded else entered.resident.checkin_due
    resident = entered.resident.model_copy(
        update={"dementia": dementia, "checkin_due": checkin_due}
    )
    return entered.model_copy(update={"home_id": home_id, "resident": resident})
