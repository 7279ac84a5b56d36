"""Homes under care, with the gateways that serve them (how alarms find their home)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.care_schemas import HomeCreate, HomePublic, Page
from server.api.deps import SessionDep
from server.api.pagination import Limit, Offset
from server.api.permissions import ManageCareRecords, ReadCareRecords
from server.crud import care, records
from server.db.care_models import Home, HomeGateway

router = APIRouter(prefix="/homes", tags=["homes"])
ENTITY = "home"


def _public(session: Session, home: Home) -> HomePublic:
    columns = {c: getattr(home, c) for c in HomePublic.model_fields if c != "gateway_ids"}
    return HomePublic.model_validate({**columns, "gateway_ids": care.gateways_of(session, home.id)})


@router.get("")
def list_homes(
    session: SessionDep,
    _user: ReadCareRecords,
    limit: Limit = 100,
    offset: Offset = 0,
    organisation_id: int | None = None,
    gateway_id: str | None = None,
) -> Page[HomePublic]:
    query = select(Home).order_by(Home.id)
    if organisation_id is not None:
        query = query.where(Home.organisation_id == organisation_id)
    if gateway_id is not None:
        query = query.join(HomeGateway).where(HomeGateway.gateway_id == gateway_id)
    rows, total = records.page(session, query, limit, offset)
    items = [_public(session, r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_home(body: HomeCreate, session: SessionDep, user: ManageCareRecords) -> HomePublic:
    now = datetime.now(UTC)
    row = Home(**body.model_dump(exclude={"gateway_ids"}), created_at=now)
    records.add(session, row, user.username, now, ENTITY)
    care.set_gateways(session, row.id, body.gateway_ids, user.username, now)
    session.commit()
    return _public(session, row)


@router.get("/{home_id}")
def get_home(home_id: str, session: SessionDep, _user: ReadCareRecords) -> HomePublic:
    return _public(session, records.fetch(session, Home, home_id, ENTITY))


@router.put("/{home_id}")
def replace_home(
    home_id: str, body: HomeCreate, session: SessionDep, user: ManageCareRecords
) -> HomePublic:
    """Replace the home's details and its gateways (its id cannot change)."""
    now = datetime.now(UTC)
    row = records.fetch(session, Home, home_id, ENTITY)
    values = body.model_dump(exclude={"gateway_ids", "id"})
    records.change(session, row, values, user.username, now, ENTITY)
    care.set_gateways(session, row.id, body.gateway_ids, user.username, now)
    session.commit()
    return _public(session, row)


@router.delete("/{home_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_home(home_id: str, session: SessionDep, user: ManageCareRecords) -> None:
    row = records.fetch(session, Home, home_id, ENTITY)
    records.remove(session, row, user.username, datetime.now(UTC), ENTITY)
    session.commit()
