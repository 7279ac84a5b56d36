"""Gateway registrations and their home configurations in the store (no HTTP, no broker).

Every change is audited in the same transaction. A change to a home's residents that alters
what its gateways are pushed makes a new revision too (``refresh_home``). A configuration's
revision is taken with a compare-and-set (``WHERE config_revision = <read>``): two installers
saving at once get one revision each, or a conflict, never one revision for two different
configurations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from protocol import HomeConfigBody
from protocol.home_config import AwayPeriod
from server import Conflict, NotFound
from server.crud import audit
from server.crud.home_profile import apply_care_records
from server.crud.records import fetch, flush
from server.db.care_models import Home, HomeGateway
from server.db.models import DeviceEvent
from server.db.provisioning_models import GatewayRegistration

ENTITY = "gateway"
CONFIG_REPORTS = ("config_applied", "config_rejected")


def register(
    session: Session, gateway_id: str, home_id: str, actor: str, now: datetime
) -> GatewayRegistration:
    """Register a gateway for a home (again, after a revocation: its revisions go on)."""
    fetch(session, Home, home_id, "home")
    row = session.get(GatewayRegistration, gateway_id, with_for_update=True)
    if row is not None and row.revoked_at is None:
        raise Conflict(f"gateway {gateway_id} is registered; rotate its credentials instead")
    serving = session.get(HomeGateway, gateway_id)
    if serving is not None and serving.home_id != home_id:
        raise Conflict(f"gateway {gateway_id} serves home {serving.home_id}")
    if serving is None:
        session.add(HomeGateway(gateway_id=gateway_id, home_id=home_id))
    if row is None:
        row = GatewayRegistration(
            gateway_id=gateway_id,
            home_id=home_id,
            registered_at=now,
            credentials_issued_at=now,
            config_revision=0,
            published_revision=0,
        )
        session.add(row)
    else:
        if row.home_id != home_id:
            # Another home's devices are no use here; revisions go on.
            row.config = row.config_entered = None
        row.home_id, row.registered_at, row.credentials_issued_at = home_id, now, now
        row.revoked_at = None
    flush(session, f"gateway {gateway_id} conflicts with an existing record")
    audit.record(session, actor, "register", ENTITY, gateway_id, now)
    return row


def active(session: Session, gateway_id: str) -> GatewayRegistration:
    row = session.get(GatewayRegistration, gateway_id)
    if row is None or row.revoked_at is not None:
        raise NotFound(f"gateway {gateway_id} is not registered")
    return row


def rotate(session: Session, gateway_id: str, actor: str, now: datetime) -> GatewayRegistration:
    row = active(session, gateway_id)
    row.credentials_issued_at = now
    audit.record(session, actor, "rotate_credentials", ENTITY, gateway_id, now)
    return row


def revoke(session: Session, gateway_id: str, actor: str, now: datetime) -> GatewayRegistration:
    row = active(session, gateway_id)
    row.revoked_at = now
    audit.record(session, actor, "revoke", ENTITY, gateway_id, now)
    return row


def set_config(
    session: Session,
    gateway_id: str,
    config: HomeConfigBody,
    actor: str,
    now: datetime,
) -> HomeConfigBody:
    """Store ``config`` as the installer's entry and, with the care records applied
    (``server/crud/home_profile.py``), as the gateway's next revision (its revision and home
    are set here)."""
    row = active(session, gateway_id)
    # The away periods are not the installer's: set through the away API for the home, they
    # stay, and a gateway configured for the first time (or moved here) takes the home's.
    home = configured(session, row.home_id)
    kept = HomeConfigBody.model_validate(home[0].config_entered).away if home else []
    entered = config.model_copy(update={"revision": 0, "home_id": row.home_id, "away": kept})
    return _next_revision(session, row, entered, actor, now, {})


def refresh_home(session: Session, home_id: str, actor: str, now: datetime) -> list[str]:
    """After a change to ``home_id``'s residents: a new revision for each of its active
    gateways whose pushed configuration that change alters. Returns their ids, to publish
    once the transaction is committed."""
    changed = []
    for row in configured(session, home_id):
        entered = HomeConfigBody.model_validate(row.config_entered)
        pushed = apply_care_records(session, home_id, entered)
        if row.config is None or _content(pushed) != _content(
            HomeConfigBody.model_validate(row.config)
        ):
            _next_revision(session, row, entered, actor, now, {"reason": "care record"})
            changed.append(row.gateway_id)
    return changed


def set_away(
    session: Session, home_id: str, away: list[AwayPeriod], actor: str, now: datetime
) -> list[str]:
    """``away`` as the away periods of each of ``home_id``'s configured gateways, in a new
    revision. Returns their ids, to publish once the transaction is committed."""
    rows = configured(session, home_id)
    for row in rows:
        entered = HomeConfigBody.model_validate(row.config_entered)
        _next_revision(
            session, row, entered.model_copy(update={"away": away}), actor, now, {"reason": "away"}
        )
    return [row.gateway_id for row in rows]


def configured(session: Session, home_id: str) -> Sequence[GatewayRegistration]:
    """``home_id``'s active gateways that have a configuration from the centre."""
    rows = session.scalars(
        select(GatewayRegistration)
        .where(GatewayRegistration.home_id == home_id, GatewayRegistration.revoked_at.is_(None))
        .order_by(GatewayRegistration.gateway_id)
    )
    # Checked here, not in SQL: a JSON column set to None holds JSON null, which IS NOT NULL
    # (a gateway moved from another home, and migration 0006 copied those), and reads as None.
    return [row for row in rows if row.config_entered is not None]


def _content(config: HomeConfigBody) -> dict[str, Any]:
    return config.model_dump(mode="json", exclude={"revision"})


def _next_revision(
    session: Session,
    row: GatewayRegistration,
    entered: HomeConfigBody,
    actor: str,
    now: datetime,
    detail: dict[str, Any],
) -> HomeConfigBody:
    stored = apply_care_records(session, row.home_id, entered).model_copy(
        update={"revision": row.config_revision + 1}
    )
    changed = session.execute(
        update(GatewayRegistration)
        .where(
            GatewayRegistration.gateway_id == row.gateway_id,
            GatewayRegistration.config_revision == row.config_revision,
        )
        .values(
            config_entered=entered.model_dump(mode="json"),
            config=stored.model_dump(mode="json"),
            config_revision=stored.revision,
            config_changed_at=now,
        )
        .execution_options(synchronize_session="fetch")
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"gateway {row.gateway_id}'s configuration changed meanwhile; try again")
    audit.record(
        session,
        actor,
        "configure",
        ENTITY,
        row.gateway_id,
        now,
        {"revision": stored.revision, **detail},
    )
    return stored


def last_report(session: Session, gateway_id: str) -> DeviceEvent | None:
    """The gateway's latest word on a configuration (``config_applied`` / ``_rejected``)."""
    return session.scalars(
        select(DeviceEvent)
        .where(DeviceEvent.gateway_id == gateway_id, DeviceEvent.kind.in_(CONFIG_REPORTS))
        .order_by(DeviceEvent.gateway_time.desc())
        .limit(1)
    ).first()
