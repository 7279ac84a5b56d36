"""Health (unauthenticated, for load balancers), metrics, and the dead-letter record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AwareDatetime
from sqlalchemy import select

from server.api.deps import CentreDep, Operator, SessionDep, require_role
from server.api.permissions import WatchCentre
from server.api.schemas import DeviceEventPublic, GatewayPublic, RejectedPublic
from server.db.models import DeviceEvent, Gateway, RejectedMessage

router = APIRouter(tags=["system"])
Supervisor = Annotated[Operator, Depends(require_role("supervisor", "admin"))]


@router.get("/health")
def health(centre: CentreDep) -> dict[str, Any]:
    """Answers without SQL, so it still speaks while the database does not. ``store`` is
    ``failing`` from the first write the database refused to the next one it took: alarms are
    then not stored (gateways keep resending them), and ``status`` is ``degraded``. The
    database's own words (its host, address, port, user) are not said here, to whoever can
    reach this: operators read them in the live stream's ``store.fault`` and the log."""
    broker = centre.broker
    fault = centre.store_health.fault
    return {
        "status": "ok" if fault is None else "degraded",
        "store": "up" if fault is None else "failing",
        "store_fault": None if fault is None else {"since": fault.since, "where": fault.where},
        "store_refused_writes": centre.store_health.refused,  # since start, all episodes
        "mqtt": "disabled" if broker is None else ("up" if broker.up else "down"),
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
    session: SessionDep,
    _user: WatchCentre,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    gateway_id: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=200)] = None,
    exclude_kind: Annotated[str | None, Query(max_length=200)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> list[DeviceEventPublic]:
    """Newest first. ``kind=activity`` with a gateway and a window is a home's activity
    timeline (what the console draws next to an inactivity alarm)."""
    query = select(DeviceEvent)
    if gateway_id is not None:
        query = query.where(DeviceEvent.gateway_id == gateway_id)
    if kind is not None:
        query = query.where(DeviceEvent.kind == kind)
    if exclude_kind is not None:
        query = query.where(DeviceEvent.kind != exclude_kind)
    if since is not None:
        query = query.where(DeviceEvent.gateway_time >= since)
    if until is not None:
        query = query.where(DeviceEvent.gateway_time <= until)
    rows = session.scalars(query.order_by(DeviceEvent.gateway_time.desc()).limit(limit))
    return [DeviceEventPublic.model_validate(r) for r in rows]
