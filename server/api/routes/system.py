"""Health (unauthenticated, for load balancers) and the dead-letter record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from server.api.deps import CentreDep, Operator, SessionDep, require_role
from server.api.schemas import RejectedPublic
from server.db.models import RejectedMessage

router = APIRouter(tags=["system"])
Supervisor = Annotated[Operator, Depends(require_role("supervisor", "admin"))]


@router.get("/health")
def health(centre: CentreDep) -> dict[str, Any]:
    broker = centre.broker
    return {
        "status": "ok",
        "mqtt": "disabled" if broker is None else ("up" if broker.connected.is_set() else "down"),
        "live_subscribers": centre.hub.subscriber_count,
    }


@router.get("/rejected-messages")
def rejected_messages(
    session: SessionDep, _user: Supervisor, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[RejectedPublic]:
    rows = session.scalars(select(RejectedMessage).order_by(RejectedMessage.id.desc()).limit(limit))
    return [RejectedPublic.model_validate(r) for r in rows]
