"""Service orders (meals, medical escort, cleaning, bathing): opened by a service-request key
press (with the service left for the operator to fill in) or by an operator."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from sqlalchemy import select

from server.api.care_schemas import Page
from server.api.deps import SessionDep
from server.api.dispatch_schemas import (
    ServiceOrderChange,
    ServiceOrderCreate,
    ServiceOrderPublic,
    ServiceOrderState,
)
from server.api.pagination import Limit, Offset
from server.api.permissions import HandleServiceOrders
from server.crud import records, service_orders
from server.db.care_models import Home
from server.db.dispatch_models import ServiceOrder

router = APIRouter(prefix="/service-orders", tags=["service orders"])
ENTITY = service_orders.ENTITY


@router.get("")
def list_service_orders(
    session: SessionDep,
    _user: HandleServiceOrders,
    limit: Limit = 100,
    offset: Offset = 0,
    state: ServiceOrderState | None = None,
    home_id: str | None = None,
    organisation_id: int | None = None,
) -> Page[ServiceOrderPublic]:
    query = select(ServiceOrder).order_by(ServiceOrder.id.desc())
    for column, value in (
        (ServiceOrder.state, state),
        (ServiceOrder.home_id, home_id),
        (ServiceOrder.organisation_id, organisation_id),
    ):
        if value is not None:
            query = query.where(column == value)
    rows, total = records.page(session, query, limit, offset)
    items = [ServiceOrderPublic.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_service_order(
    body: ServiceOrderCreate, session: SessionDep, user: HandleServiceOrders
) -> ServiceOrderPublic:
    now = datetime.now(UTC)
    home = records.fetch(session, Home, body.home_id, "home")
    row = ServiceOrder(
        **body.model_dump(),
        organisation_id=home.organisation_id,
        state="requested",
        created_at=now,
        updated_at=now,
    )
    records.add(session, row, user.username, now, ENTITY)
    session.commit()
    return ServiceOrderPublic.model_validate(row)


@router.get("/{order_id}")
def get_service_order(
    order_id: int, session: SessionDep, _user: HandleServiceOrders
) -> ServiceOrderPublic:
    return ServiceOrderPublic.model_validate(records.fetch(session, ServiceOrder, order_id, ENTITY))


@router.patch("/{order_id}")
def change_service_order(
    order_id: int, body: ServiceOrderChange, session: SessionDep, user: HandleServiceOrders
) -> ServiceOrderPublic:
    """Set the service, who does it and when, or move it on (to ``completed`` at the end)."""
    row = records.fetch(session, ServiceOrder, order_id, ENTITY)
    changes = body.model_dump(exclude_unset=True)
    service_orders.change(session, row, changes, user.username, datetime.now(UTC))
    session.commit()
    return ServiceOrderPublic.model_validate(row)
