"""Residents' records. Every read (one record or a list) is written to the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from sqlalchemy import String, cast, select

from server.api.care_schemas import Page, PriorityGroup, ResidentCreate, ResidentPublic
from server.api.deps import SessionDep
from server.api.pagination import Limit, Offset
from server.api.permissions import ManageCareRecords, ReadCareRecords, ReadResident
from server.api.scopes import check_resident
from server.crud import care, records
from server.db.care_models import Home, Resident

router = APIRouter(prefix="/residents", tags=["residents"])
ENTITY = "resident"


@router.get("")
def list_residents(
    session: SessionDep,
    user: ReadCareRecords,
    limit: Limit = 100,
    offset: Offset = 0,
    home_id: str | None = None,
    organisation_id: int | None = None,
    priority_group: PriorityGroup | None = None,
) -> Page[ResidentPublic]:
    query = select(Resident).order_by(Resident.id)
    if home_id is not None:
        query = query.where(Resident.home_id == home_id)
    if organisation_id is not None:
        query = query.join(Home).where(Home.organisation_id == organisation_id)
    if priority_group is not None:
        # Groups are a JSON list of known words; its text holds the word in quotes, the same
        # on SQLite and PostgreSQL.
        query = query.where(cast(Resident.priority_groups, String).contains(f'"{priority_group}"'))
    rows, total = records.page(session, query, limit, offset)
    care.audit_listing(session, rows, user.username, datetime.now(UTC))
    session.commit()
    items = [ResidentPublic.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_resident(
    body: ResidentCreate, session: SessionDep, user: ManageCareRecords
) -> ResidentPublic:
    now = datetime.now(UTC)
    records.fetch(session, Home, body.home_id, "home")
    row = records.add(
        session, Resident(**body.model_dump(), created_at=now), user.username, now, ENTITY
    )
    session.commit()
    return ResidentPublic.model_validate(row)


@router.get("/{resident_id}")
def get_resident(resident_id: int, session: SessionDep, user: ReadResident) -> ResidentPublic:
    """A family account reads its own resident only (anything else: 404, as if missing)."""
    check_resident(user, resident_id)
    row = care.read_resident(session, resident_id, user.username, datetime.now(UTC))
    session.commit()
    return ResidentPublic.model_validate(row)


@router.put("/{resident_id}")
def replace_resident(
    resident_id: int, body: ResidentCreate, session: SessionDep, user: ManageCareRecords
) -> ResidentPublic:
    now = datetime.now(UTC)
    row = records.fetch(session, Resident, resident_id, ENTITY)
    records.fetch(session, Home, body.home_id, "home")
    records.change(session, row, body.model_dump(), user.username, now, ENTITY)
    session.commit()
    return ResidentPublic.model_validate(row)


@router.delete("/{resident_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_resident(resident_id: int, session: SessionDep, user: ManageCareRecords) -> None:
    row = records.fetch(session, Resident, resident_id, ENTITY)
    records.remove(session, row, user.username, datetime.now(UTC), ENTITY)
    session.commit()
