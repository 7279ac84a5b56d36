"""SQL tables of the centre (SQLAlchemy 2 declarative). Schema changes go through Alembic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, also on SQLite (which stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Gateway(Base):
    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    home_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))  # online / offline
    heartbeat_interval_s: Mapped[int] = mapped_column(Integer)
    last_seen_at: Mapped[datetime]


class Alarm(Base):
    """One alarm; its id is the gateway's message id, which makes ingest idempotent."""

    __tablename__ = "alarms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64), index=True)
    home_id: Mapped[str] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer)
    device_time: Mapped[datetime | None]
    gateway_time: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(index=True)
    # The operator's view: open (no operator has taken it), acknowledged, resolved.
    status: Mapped[str] = mapped_column(String(16), index=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[dict[str, Any]]  # the message as received, for the record
    # The lifecycle (server/dispatch/lifecycle.py): raised, acknowledged, dispatched, accepted,
    # en_route, on_scene, resolved. ``version`` grows with every change, so a conditional
    # UPDATE tells two writers apart (one wins, the other sees it lost).
    state: Mapped[str] = mapped_column(String(16), index=True, default="raised")
    version: Mapped[int] = mapped_column(Integer, default=1)
    outcome: Mapped[str | None] = mapped_column(String(16))
    resolved_at: Mapped[datetime | None]
    # Known when the gateway is mapped to a home (server/dispatch/intake.py).
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    responder_id: Mapped[int | None] = mapped_column(  # who is asked or going now
        ForeignKey("responders.id", ondelete="SET NULL")
    )
    # Escalation ladder: pending / active / accepted / exhausted / cancelled; progress is
    # the ladder's own state (server/dispatch/ladder.py); the engine acts at next_step_at.
    escalation_state: Mapped[str | None] = mapped_column(String(16), index=True)
    escalation: Mapped[dict[str, Any] | None]
    next_step_at: Mapped[datetime | None] = mapped_column(index=True)

    # Every ORM UPDATE says WHERE version = <the version read> and bumps it; a writer that
    # lost a race gets StaleDataError instead of overwriting (optimistic concurrency).
    __mapper_args__ = {"version_id_col": version}


class DeviceEvent(Base):
    __tablename__ = "device_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64), index=True)
    device_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]
    gateway_time: Mapped[datetime]


class RejectedMessage(Base):
    """Dead letters: every payload ingest refused, with the reason, so nothing vanishes."""

    __tablename__ = "rejected_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    topic: Mapped[str] = mapped_column(String(512))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)  # repr-safe text, truncated


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # operator / supervisor / admin / responder / family (server/api/permissions.py)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    # A disabled account keeps its row (audit names it) but cannot log in or use a token.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The record a scoped role is bound to: a responder user acts for one responder, a family
    # user sees one resident. A deleted record leaves the account bound to nothing (sees nothing).
    responder_id: Mapped[int | None] = mapped_column(
        ForeignKey("responders.id", ondelete="SET NULL"), unique=True
    )
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )


class ApiSession(Base):
    """A login; only the SHA-256 of the token is stored, so a database leak grants nothing."""

    __tablename__ = "api_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    # None for a login; "settings" for the token SERVER_ADMIN_TOKEN puts in place at start,
    # so a changed value replaces exactly that one.
    origin: Mapped[str | None] = mapped_column(String(16), index=True)


class LoginFailure(Base):
    """A failed login, kept briefly: the rate limit counts these, so every server process on
    one database sees the same count."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)


# The care and dispatch tables live in their own modules; importing them here registers every
# table in Base.metadata whichever module is imported first (foreign keys name each other).
from server.db import (  # noqa: E402, F401
    care_models,
    dispatch_models,
    fall_hold_models,
    notify_models,
    provisioning_models,
)
