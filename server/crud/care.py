"""What is particular to the care records: the organisation tree and its dispatch settings,
which gateways serve a home, and audited reads of residents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server import Conflict
from server.crud import audit
from server.crud.records import fetch, flush
from server.db.care_models import ORGANISATION_LEVELS, HomeGateway, Organisation, Resident
from server.dispatch.settings import DispatchSettings, resolve


def check_parent(session: Session, level: str, parent_id: int | None) -> None:
    """A parent sits higher in the tree (a city above a district ...), which also rules out
    cycles; only a city may have no parent."""
    if parent_id is None:
        return
    parent = fetch(session, Organisation, parent_id, "organisation")
    if ORGANISATION_LEVELS.index(parent.level) >= ORGANISATION_LEVELS.index(level):
        raise Conflict(f"a {level} cannot sit under a {parent.level}")


def settings_chain(session: Session, organisation_id: int | None) -> list[dict[str, Any]]:
    """The organisation's own overrides and its ancestors', root first."""
    chain: list[dict[str, Any]] = []
    seen: set[int] = set()
    current = organisation_id
    while current is not None and current not in seen:
        seen.add(current)
        org = session.get(Organisation, current)
        if org is None:
            break
        chain.append(org.dispatch_settings or {})
        current = org.parent_id
    return chain[::-1]


def dispatch_settings(session: Session, organisation_id: int | None) -> DispatchSettings:
    """The settings in force for alarms of ``organisation_id`` (defaults when unknown)."""
    return resolve(settings_chain(session, organisation_id))


def set_dispatch_settings(
    session: Session, org: Organisation, overrides: dict[str, Any], actor: str, now: datetime
) -> DispatchSettings:
    """Replace the organisation's overrides; refused (pydantic ValidationError) unless the
    merged result is valid. Each key is checked on its own, so what is valid here stays valid
    under every organisation below that overrides other keys."""
    chain = settings_chain(session, org.parent_id)
    effective = resolve([*chain, overrides])
    org.dispatch_settings = overrides
    flush(session, "organisation settings")
    audit.record(session, actor, "update", "organisation", org.id, now, {"fields": ["settings"]})
    return effective


def set_gateways(
    session: Session, home_id: str, gateway_ids: Sequence[str], actor: str, now: datetime
) -> list[str]:
    """Make ``gateway_ids`` exactly the gateways serving ``home_id``."""
    wanted = sorted(set(gateway_ids))
    taken = session.scalars(
        select(HomeGateway).where(
            HomeGateway.gateway_id.in_(wanted), HomeGateway.home_id != home_id
        )
    ).all()
    if taken:
        names = ", ".join(f"{t.gateway_id} (home {t.home_id})" for t in taken)
        raise Conflict(f"gateways already serve another home: {names}")
    if wanted == gateways_of(session, home_id):
        return wanted
    session.execute(delete(HomeGateway).where(HomeGateway.home_id == home_id))
    session.add_all(HomeGateway(gateway_id=g, home_id=home_id) for g in wanted)
    flush(session, "home gateways")
    audit.record(session, actor, "update", "home", home_id, now, {"gateways": wanted})
    return wanted


def gateways_of(session: Session, home_id: str) -> list[str]:
    query = select(HomeGateway.gateway_id).where(HomeGateway.home_id == home_id)
    return sorted(session.scalars(query))


def read_resident(session: Session, resident_id: int, reader: str, now: datetime) -> Resident:
    """A resident's record, with the read in the audit log (committed by the caller)."""
    resident = fetch(session, Resident, resident_id, "resident")
    audit.record(session, reader, "read", "resident", resident_id, now)
    return resident


def audit_listing(
    session: Session, residents: Sequence[Resident], reader: str, now: datetime
) -> None:
    """A list shows records too: one read entry per resident shown."""
    for resident in residents:
        audit.record(session, reader, "read", "resident", resident.id, now, {"via": "list"})
