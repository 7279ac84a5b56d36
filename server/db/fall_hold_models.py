"""A cloud wearable's possible fall, held for its cancel window (server/ingest/cloud_falls.py).

A row is written the moment the centre's detector decides, before the wearable is prompted,
so a server that restarts (or a second server that takes over detection) still turns it into
the fall alarm when the window ends. The alarm's id is fixed in the row: whoever sends it,
and however often, ingest stores it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base


class CloudFallHold(Base):
    __tablename__ = "cloud_fall_holds"

    alarm_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    wearer: Mapped[str] = mapped_column(String(200), index=True)  # "<account>/<device>"
    alarm: Mapped[dict[str, Any]]  # the fall alarm as it will be stored, trace included
    t_detect: Mapped[float] = mapped_column(Float)  # device time: a later press cancels
    until: Mapped[datetime]  # centre time the window ends
