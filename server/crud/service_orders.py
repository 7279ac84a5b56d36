"""Service orders: requested -> scheduled -> in_progress -> completed (or cancelled)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server import Conflict
from server.crud import audit, records
from server.db.dispatch_models import ServiceOrder

ENTITY = "service_order"
NEXT_STATES: dict[str, frozenset[str]] = {
    "requested": frozenset({"scheduled", "in_progress", "completed", "cancelled"}),
    "scheduled": frozenset({"in_progress", "completed", "cancelled"}),
    "in_progress": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}


def change(
    session: Session, order: ServiceOrder, changes: dict[str, Any], actor: str, now: datetime
) -> ServiceOrder:
    """Apply ``changes``; a state change must follow the order's lifecycle."""
    to_state = changes.get("state")
    if to_state is not None and to_state != order.state:
        if to_state not in NEXT_STATES[order.state]:
            raise Conflict(
                f"service order {order.id} is {order.state}; it cannot become {to_state}"
            )
        if to_state == "completed":
            changes = {**changes, "completed_at": now}
    elif order.state in ("completed", "cancelled"):
        raise Conflict(f"service order {order.id} is {order.state}")
    records.change(session, order, {**changes, "updated_at": now}, actor, now, ENTITY)
    if to_state is not None:
        audit.record(session, actor, to_state, ENTITY, order.id, now)
    return order
