"""Health (unauthenticated, for load balancers), metrics, and the dead-letter record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select

from server.api.deps import CentreDep, Operator, SessionDep, require_role
from server.api.permissions import WatchCentre
from server.api.schemas import DeviceEventPublic, GatewayPublic, RejectedPublic
from server.db.models import DeviceEvent, Gateway, RejectedMessage

router = APIRouter(tags=["system"])
Supervisor = Annotated[Operator, Depends(require_role("supervisor", "admin"))]


@router.get("/health")
def health(centre: CentreDep) -> dict[str, Any]:
    broker = centre.broker
    return {
        "status": "ok",
        "mqtt": "disabled" if broker is None else ("up" if broker.connected.is_set() else "down"),
        "live_subscribers": centre.hub.subscriber_count,
        "live_relay": "local"
        if centre.relay is None
        else ("up" if centre.relay.listening.is_set() else "down"),
    }


@router.get("/metrics", response_class=Response)
def metrics(centre: CentreDep, _user: WatchCentre) -> Response:
    """This process's Prometheus metrics (``server/metrics.py``). Behind the console's login:
    a scrape job sends a bearer token (e.g. ``SERVER_ADMIN_TOKEN``). Each server process
    answers for itself; scrape them all."""
    return Response(generate_latest(centre.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/rejected-messages")
def rejected_messages(
    session: SessionDep, _user: Supervisor, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[RejectedPublic]:
    rows = session.scalars(select(RejectedMessage).order_by(RejectedMessage.id.desc()).limit(limit))
    return [RejectedPublic.model_validate(r) for r in rows]


@router.get("/gateways")
def gateways(session: SessionDep, _user: WatchCentre) -> list[GatewayPublic]:
    rows = session.scalars(select(Gateway).order_by(Gateway.id))
    return [GatewayPublic.model_validate(r) for r in rows]


@router.get("/device-events")
def device_events(
    session: SessionDep, _user: WatchCentre, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[DeviceEventPublic]:
    rows = session.scalars(
        select(DeviceEvent).order_by(DeviceEvent.gateway_time.desc()).limit(limit)
    )
    return [DeviceEventPublic.model_validate(r) for r in rows]
