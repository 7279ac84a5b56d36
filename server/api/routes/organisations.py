"""Organisations (city, district, street, community) and their dispatch settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import ValidationError
from sqlalchemy import select

from server.api.care_schemas import Level, OrganisationCreate, OrganisationPublic, Page
from server.api.deps import SessionDep
from server.api.pagination import Limit, Offset
from server.api.permissions import ManageCareRecords, ReadCareRecords
from server.crud import care, records
from server.db.care_models import Organisation
from server.dispatch.settings import DispatchSettings

router = APIRouter(prefix="/organisations", tags=["organisations"])
ENTITY = "organisation"


@router.get("")
def list_organisations(
    session: SessionDep,
    _user: ReadCareRecords,
    limit: Limit = 100,
    offset: Offset = 0,
    parent_id: int | None = None,
    level: Level | None = None,
) -> Page[OrganisationPublic]:
    query = select(Organisation).order_by(Organisation.id)
    if parent_id is not None:
        query = query.where(Organisation.parent_id == parent_id)
    if level is not None:
        query = query.where(Organisation.level == level)
    rows, total = records.page(session, query, limit, offset)
    items = [OrganisationPublic.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_organisation(
    body: OrganisationCreate, session: SessionDep, user: ManageCareRecords
) -> OrganisationPublic:
    now = datetime.now(UTC)
    care.check_parent(session, body.level, body.parent_id)
    row = Organisation(**body.model_dump(), dispatch_settings={}, created_at=now)
    records.add(session, row, user.username, now, ENTITY)
    session.commit()
    return OrganisationPublic.model_validate(row)


@router.get("/{organisation_id}")
def get_organisation(
    organisation_id: int, session: SessionDep, _user: ReadCareRecords
) -> OrganisationPublic:
    return OrganisationPublic.model_validate(
        records.fetch(session, Organisation, organisation_id, ENTITY)
    )


@router.put("/{organisation_id}")
def replace_organisation(
    organisation_id: int, body: OrganisationCreate, session: SessionDep, user: ManageCareRecords
) -> OrganisationPublic:
    row = records.fetch(session, Organisation, organisation_id, ENTITY)
    care.check_parent(session, body.level, body.parent_id)
    records.change(session, row, body.model_dump(), user.username, datetime.now(UTC), ENTITY)
    session.commit()
    return OrganisationPublic.model_validate(row)


@router.delete("/{organisation_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_organisation(organisation_id: int, session: SessionDep, user: ManageCareRecords) -> None:
    row = records.fetch(session, Organisation, organisation_id, ENTITY)
    records.remove(session, row, user.username, datetime.now(UTC), ENTITY)
    session.commit()


@router.get("/{organisation_id}/dispatch-settings")
def get_dispatch_settings(
    organisation_id: int, session: SessionDep, _user: ReadCareRecords
) -> DispatchSettings:
    """The settings in force here: defaults, then every level above, then this one's own."""
    records.fetch(session, Organisation, organisation_id, ENTITY)
    return care.dispatch_settings(session, organisation_id)


@router.put("/{organisation_id}/dispatch-settings")
def set_dispatch_settings(
    organisation_id: int, overrides: dict[str, Any], session: SessionDep, user: ManageCareRecords
) -> DispatchSettings:
    """Replace this organisation's own overrides (only the keys it changes); returns the
    settings now in force here."""
    row = records.fetch(session, Organisation, organisation_id, ENTITY)
    try:
        effective = care.set_dispatch_settings(
            session, row, overrides, user.username, datetime.now(UTC)
        )
    except ValidationError as err:
        detail = err.errors(include_url=False, include_context=False, include_input=False)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail) from err
    session.commit()
    return effective
