"""Gateways registered at the centre, with the home configuration kept for each.

A registration outlives a revocation (``revoked_at``): the configuration's revision keeps
growing across a revoke and a new registration of the same gateway, so a gateway that kept an
old configuration on disk never takes it for newer than the centre's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base


class GatewayRegistration(Base):
    __tablename__ = "gateway_registrations"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.id", ondelete="RESTRICT"), index=True)
    registered_at: Mapped[datetime]
    # The password itself is nowhere at the centre: only the broker's password file has it,
    # hashed. This says when the one in force was issued.
    credentials_issued_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # What the installer entered (a wire body at revision 0); None until the first. The
    # pushed ``config`` is this with the care records' part applied (crud/home_profile.py),
    # made again whenever those records change.
    config_entered: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The wire body (protocol.HomeConfigBody) of the newest revision; None until the first.
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    config_revision: Mapped[int] = mapped_column(Integer, default=0)
    config_changed_at: Mapped[datetime | None]
    # The newest revision the broker has acknowledged as retained (catch-up below that).
    published_revision: Mapped[int] = mapped_column(Integer, default=0)
