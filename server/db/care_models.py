"""Who the centre cares for and who it can send: organisations, homes, residents, responders.

Lists and small documents (priority groups, contacts in calling order, a weekly roster) are
JSON columns: they are read and written whole with their owner, never queried inside SQL, and
JSON works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base

ORGANISATION_LEVELS = ("city", "district", "street", "community")
AREAS = ("urban", "remote")
PRIORITY_GROUPS = (
    "living_alone",
    "advanced_age",
    "disabled",
    "dementia",
    "bereaved_only_child",
    "severe_disability",
)
RESPONDER_KINDS = ("family", "care_worker", "volunteer", "emergency_services")
RESPONDER_STATUSES = ("available", "busy", "off_duty")


class Organisation(Base):
    """A level of the smart-eldercare platform (JGJ/T 484-2019): city, district, street,
    community. ``dispatch_settings`` overrides the escalation defaults for this organisation
    and everything below it."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    dispatch_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class Home(Base):
    """A home under care. Its id is the one its gateway declares (``GATEWAY_HOME_ID``)."""

    __tablename__ = "homes"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    address: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    area: Mapped[str] = mapped_column(String(16))  # urban / remote: sets the response radius
    created_at: Mapped[datetime]


class HomeGateway(Base):
    """Which home a gateway serves: what links an incoming alarm to its home and resident.
    A gateway row appears only when it first speaks, so this maps ids, not rows."""

    __tablename__ = "home_gateways"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"), index=True)


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    priority_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Capability assessment (MZ/T 039): 0 (intact) .. 3 (severe loss); None = not assessed.
    assessment_level: Mapped[int | None] = mapped_column(Integer)
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # calling order
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_date: Mapped[date | None]
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The daily check-in: a key pressed by this local time (HH:MM), else an alarm; None: no
    # check-in. Pushed to the home's gateway (server/crud/home_profile.py).
    checkin_due: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime]


class Responder(Base):
    """Someone who can be sent. A family member (``resident_id`` set) is only ever sent to
    their own resident."""

    __tablename__ = "responders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str | None] = mapped_column(String(200))  # contracted service provider
    phone: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Weekly on-duty windows [{"day": 0-6 (Monday=0), "start": "HH:MM", "end": "HH:MM"}] in
    # the organisation's time zone; empty = no fixed hours (on duty whenever available).
    roster: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    speed_kmh: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
