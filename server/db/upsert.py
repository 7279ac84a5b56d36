"""INSERT ... ON CONFLICT for the two stores we run on: idempotent writes without races."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_insert(session: Session) -> Any:
    """The dialect's ``insert`` (both have ``on_conflict_do_nothing/_update``)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert
