"""What the centre did: every step of an alarm, service orders, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base

SERVICES = ("meals", "medical_escort", "cleaning", "bathing", "other")
SERVICE_ORDER_STATES = ("requested", "scheduled", "in_progress", "completed", "cancelled")


class AlarmAction(Base):
    """One step in an alarm's history (raised, acknowledged, notified, dispatched, accepted,
    en_route, on_scene, resolved, note, escalation ...): who, when, and what they said.
    Rows are only ever added, so the console can replay the whole story."""

    __tablename__ = "alarm_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(80))  # a username, "engine" or "gateway:<id>"
    at: Mapped[datetime]
    responder_id: Mapped[int | None] = mapped_column(
        ForeignKey("responders.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]]


class ServiceOrder(Base):
    """A non-emergency request (meals, medical escort, cleaning, bathing). A service-request
    key press opens one; the operator says which service and who does it."""

    __tablename__ = "service_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str | None] = mapped_column(
        ForeignKey("alarms.id", ondelete="SET NULL"), unique=True
    )
    home_id: Mapped[str] = mapped_column(String(200), index=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    service: Mapped[str | None] = mapped_column(String(32))  # None until the operator asks
    state: Mapped[str] = mapped_column(String(16), index=True)
    responder_id: Mapped[int | None] = mapped_column(
        ForeignKey("responders.id", ondelete="SET NULL")
    )
    scheduled_for: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did or read what, when: every change, and every read of a resident's record."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32), index=True)
    entity_id: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]
