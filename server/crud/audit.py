"""The audit log: every change, and every read of a resident's record (who, what, when)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db.dispatch_models import AuditEntry


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an entry in the caller's transaction: it is kept exactly when the change is."""
    session.add(
        AuditEntry(
            at=now,
            actor=actor[:80],
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            detail=detail or {},
        )
    )


def page(
    session: Session,
    *,
    limit: int,
    offset: int,
    actor: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
) -> tuple[list[AuditEntry], int]:
    query = select(AuditEntry)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total)
