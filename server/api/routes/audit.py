"""The audit log, for supervisors and admins: who changed or read what, and when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.care_schemas import Page
from server.api.deps import SessionDep
from server.api.dispatch_schemas import AuditEntryPublic
from server.api.pagination import Limit, Offset
from server.api.permissions import ReadAudit
from server.crud import audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def audit_log(
    session: SessionDep,
    _user: ReadAudit,
    limit: Limit = 100,
    offset: Offset = 0,
    actor: str | None = None,
    entity: str | None = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AuditEntryPublic]:
    """Newest first."""
    rows, total = audit.page(
        session, limit=limit, offset=offset, actor=actor, entity=entity, entity_id=entity_id
    )
    items = [AuditEntryPublic.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)
