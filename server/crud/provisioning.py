"""Gateway registrations and their home configurations in the store (no HTTP, no broker).

Every change is audited in the same transaction. A configuration's revision is taken with a
compare-and-set (``WHERE config_revision = <read>``): two installers saving at once get one
revision each, or a conflict, never one revision for two different configurations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from protocol import HomeConfigBody
from protocol.home_config import ResidentProfile
from server import Conflict, NotFound
from server.crud import audit
from server.crud.records import fetch, flush
from server.db.care_models import Home, HomeGateway, Resident
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
            row.config = None  # another home's devices are no use here; revisions go on
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
    """Store ``config`` (its revision and home are set here) as the gateway's next revision.

    A resident recorded with the ``dementia`` priority group always gets the dementia night
    profile: the care record is the authority, not what an installer typed."""
    row = active(session, gateway_id)
    dementia = config.resident.dementia or _has_dementia(session, row.home_id)
    resident: ResidentProfile = config.resident.model_copy(update={"dementia": dementia})
    stored = config.model_copy(
        update={"revision": row.config_revision + 1, "home_id": row.home_id, "resident": resident}
    )
    changed = session.execute(
        update(GatewayRegistration)
        .where(
            GatewayRegistration.gateway_id == gateway_id,
            GatewayRegistration.config_revision == row.config_revision,
        )
        .values(
            config=stored.model_dump(mode="json"),
            config_revision=stored.revision,
            config_changed_at=now,
        )
        .execution_options(synchronize_session="fetch")
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"gateway {gateway_id}'s configuration changed meanwhile; try again")
    audit.record(
        session, actor, "configure", ENTITY, gateway_id, now, {"revision": stored.revision}
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


def _has_dementia(session: Session, home_id: str) -> bool:
    groups = session.scalars(select(Resident.priority_groups).where(Resident.home_id == home_id))
    return any("dementia" in (g or []) for g in groups)
