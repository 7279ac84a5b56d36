"""Responders: family members, care workers, volunteers, emergency services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from server.api.care_schemas import (
    Page,
    ResponderCreate,
    ResponderKind,
    ResponderPublic,
    ResponderStatus,
    ResponderStatusChange,
)
from server.api.deps import SessionDep
from server.api.pagination import Limit, Offset
from server.api.permissions import ManageCareRecords, ReadCareRecords, ReportProgress
from server.api.scopes import check_responder
from server.crud import records
from server.db.care_models import Organisation, Resident, Responder

router = APIRouter(prefix="/responders", tags=["responders"])
ENTITY = "responder"


@router.get("")
def list_responders(
    session: SessionDep,
    _user: ReadCareRecords,
    limit: Limit = 100,
    offset: Offset = 0,
    kind: ResponderKind | None = None,
    status_: Annotated[ResponderStatus | None, Query(alias="status")] = None,
    organisation_id: int | None = None,
    resident_id: int | None = None,
) -> Page[ResponderPublic]:
    query = select(Responder).order_by(Responder.id)
    for column, value in (
        (Responder.kind, kind),
        (Responder.status, status_),
        (Responder.organisation_id, organisation_id),
        (Responder.resident_id, resident_id),
    ):
        if value is not None:
            query = query.where(column == value)
    rows, total = records.page(session, query, limit, offset)
    items = [ResponderPublic.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_responder(
    body: ResponderCreate, session: SessionDep, user: ManageCareRecords
) -> ResponderPublic:
    now = datetime.now(UTC)
    _check_links(session, body)
    row = Responder(**body.model_dump(), created_at=now)
    records.add(session, row, user.username, now, ENTITY)
    session.commit()
    return ResponderPublic.model_validate(row)


@router.get("/{responder_id}")
def get_responder(
    responder_id: int, session: SessionDep, _user: ReadCareRecords
) -> ResponderPublic:
    return ResponderPublic.model_validate(records.fetch(session, Responder, responder_id, ENTITY))


@router.put("/{responder_id}")
def replace_responder(
    responder_id: int, body: ResponderCreate, session: SessionDep, user: ManageCareRecords
) -> ResponderPublic:
    row = records.fetch(session, Responder, responder_id, ENTITY)
    _check_links(session, body)
    records.change(session, row, body.model_dump(), user.username, datetime.now(UTC), ENTITY)
    session.commit()
    return ResponderPublic.model_validate(row)


@router.post("/{responder_id}/status")
def change_status(
    responder_id: int, body: ResponderStatusChange, session: SessionDep, user: ReportProgress
) -> ResponderPublic:
    """Available, busy or off duty: what the engine reads before it asks anyone. A responder
    account sets its own status only."""
    check_responder(user, responder_id)
    row = records.fetch(session, Responder, responder_id, ENTITY)
    records.change(session, row, body.model_dump(), user.username, datetime.now(UTC), ENTITY)
    session.commit()
    return ResponderPublic.model_validate(row)


@router.delete("/{responder_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_responder(responder_id: int, session: SessionDep, user: ManageCareRecords) -> None:
    row = records.fetch(session, Responder, responder_id, ENTITY)
    records.remove(session, row, user.username, datetime.now(UTC), ENTITY)
    session.commit()


def _check_links(session: SessionDep, body: ResponderCreate) -> None:
    if body.organisation_id is not None:
        records.fetch(session, Organisation, body.organisation_id, "organisation")
    if body.resident_id is not None:
        records.fetch(session, Resident, body.resident_id, "resident")
