"""Create, change, delete and page through care records, each change audited in the same
transaction. Generic over the tables; what is specific to one table lives in crud/care.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server import Conflict, NotFound
from server.crud import audit
from server.db.models import Base

Row = TypeVar("Row", bound=Base)


def fetch(session: Session, model: type[Row], key: object, entity: str) -> Row:
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"{entity} {key} not found")
    return row


def add(session: Session, row: Row, actor: str, now: datetime, entity: str) -> Row:
    session.add(row)
    flush(session, f"{entity} conflicts with an existing record")
    audit.record(session, actor, "create", entity, _key(row), now)
    return row


def change(
    session: Session, row: Row, values: Mapping[str, Any], actor: str, now: datetime, entity: str
) -> Row:
    """Set ``values`` on ``row``. The audit names the fields changed, not their contents: the
    log must not become a second copy of residents' records."""
    changed = sorted(k for k, v in values.items() if getattr(row, k) != v)
    for name in changed:
        setattr(row, name, values[name])
    flush(session, f"{entity} change conflicts with other records")
    if changed:
        audit.record(session, actor, "update", entity, _key(row), now, {"fields": changed})
    return row


def remove(session: Session, row: Base, actor: str, now: datetime, entity: str) -> None:
    key = _key(row)
    session.delete(row)
    flush(session, f"{entity} {key} is still referred to; remove what depends on it first")
    audit.record(session, actor, "delete", entity, key, now)


def page(session: Session, query: Select[Row], limit: int, offset: int) -> tuple[list[Row], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.limit(limit).offset(offset))), int(total)


def flush(session: Session, message: str) -> None:
    """Flush; a broken constraint (a duplicate, a dangling reference) becomes ``Conflict``.
    The transaction is then spoilt: the caller must give up on it (a request does)."""
    try:
        session.flush()
    except IntegrityError as err:
        raise Conflict(message) from err


def _key(row: Base) -> object:
    return getattr(row, "id", None) or getattr(row, "gateway_id", None)
