"""Residents' records. Every read (one record or a list) is written to the audit log. A change
that alters what the home's gateways are pushed (the dementia group, the check-in time:
``server/crud/home_profile.py``) makes their next configuration revision and publishes it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from server.api.care_schemas import Page, PriorityGroup, ResidentCreate, ResidentPublic
from server.api.deps import CentreDep, SessionDep
from server.api.pagination import Limit, Offset
from server.api.permissions import ManageCareRecords, ReadCareRecords, ReadResident
from server.api.scopes import check_resident
from server.centre import Centre
from server.crud import care, provisioning, records
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
    body: ResidentCreate, session: SessionDep, user: ManageCareRecords, centre: CentreDep
) -> ResidentPublic:
    now = datetime.now(UTC)
    records.fetch(session, Home, body.home_id, "home")
    row = records.add(
        session, Resident(**body.model_dump(), created_at=now), user.username, now, ENTITY
    )
    _commit_and_push(session, centre, [row.home_id], user.username, now)
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
    resident_id: int,
    body: ResidentCreate,
    session: SessionDep,
    user: ManageCareRecords,
    centre: CentreDep,
) -> ResidentPublic:
    now = datetime.now(UTC)
    row = records.fetch(session, Resident, resident_id, ENTITY)
    moved_from = row.home_id
    records.fetch(session, Home, body.home_id, "home")
    records.change(session, row, body.model_dump(), user.username, now, ENTITY)
    _commit_and_push(session, centre, [moved_from, row.home_id], user.username, now)
    return ResidentPublic.model_validate(row)


@router.delete("/{resident_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_resident(
    resident_id: int, session: SessionDep, user: ManageCareRecords, centre: CentreDep
) -> None:
    now = datetime.now(UTC)
    row = records.fetch(session, Resident, resident_id, ENTITY)
    home_id = row.home_id
    records.remove(session, row, user.username, now, ENTITY)
    _commit_and_push(session, centre, [home_id], user.username, now)


def _commit_and_push(
    session: Session, centre: Centre, home_ids: list[str], actor: str, now: datetime
) -> None:
    """Commit the change with the new configuration revisions it makes for the homes'
    gateways, then publish those (the periodic catch-up retries what the broker missed)."""
    gateways = [
        gateway_id
        for home_id in dict.fromkeys(home_ids)
        for gateway_id in provisioning.refresh_home(session, home_id, actor, now)
    ]
    session.commit()
    for gateway_id in gateways:
        centre.configs.publish(gateway_id)
