"""The operators' live notice of an away change a family member made.

While a home is away its gateways raise no inactivity, night or check-in alarm: a family
member's mistaken or malicious period silences the monitoring of someone the centre cares for.
So each change a family account makes goes to every console at once, as a live
``away.family_changed`` event saying who changed what (the audit keeps it for later), and the
operators can call the family back or end the period.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.crud.away import AwaySchedule
from server.db.care_models import Resident

FAMILY = "family"
EVENT = "away.family_changed"


def family_changed(
    username: str, action: str, resident: Resident, schedule: AwaySchedule, now: datetime
) -> dict[str, Any]:
    """The live event for ``action`` (``plan_away``, ``away_now``, ``back_now``) by the family
    account ``username``, with the schedule it left (named, so an operator knows whom to call
    without opening the record)."""
    under_way = schedule.under_way(now)
    return {
        "type": EVENT,
        "at": now.isoformat(),
        "by": username,
        "action": action,
        "resident_id": resident.id,
        "resident_name": resident.name,
        "home_id": schedule.home_id,
        "periods": [p.model_dump(mode="json") for p in schedule.periods],
        "away_now": None if under_way is None else under_way.model_dump(mode="json"),
    }
