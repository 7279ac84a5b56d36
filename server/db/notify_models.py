"""How responders are reached (notification channels) and what each attempt to reach them did.

Channels are configured by an admin through the API and read by every server process's
notifier (server/notify/stored_channels.py). A webhook's secret is stored encrypted with a key
kept outside the database (the centre signs with it, so it cannot be hashed); it never leaves
the server through the API or the logs.
Delivery rows are only ever added, one per attempt, so a supervisor can see that a responder
was not reached and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base

CHANNEL_KINDS = ("mqtt", "webhook")
ADAPTERS = ("generic", "sms", "voice")
DELIVERY_OUTCOMES = ("delivered", "retrying", "failed")
ERROR_LENGTH = 64  # what went wrong, cut to this (a receiver words its own reason phrase)


class NotificationChannel(Base):
    """One way to reach one responder. An MQTT channel has no settings of its own: the topic
    and account follow from the responder (the broker's ACL allows nothing else)."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    responder_id: Mapped[int] = mapped_column(
        ForeignKey("responders.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # CHANNEL_KINDS
    adapter: Mapped[str] = mapped_column(String(16))  # ADAPTERS; sms / voice: a provider's
    label: Mapped[str | None] = mapped_column(String(80))
    url: Mapped[str | None] = mapped_column(String(2048))  # webhooks only
    # Webhooks only; write-only; sealed with SERVER_SECRET_KEY (server/notify/secret_box.py):
    # the Fernet token of 256 characters (up to 1,024 bytes in UTF-8) is under 1,500 long.
    secret: Mapped[str | None] = mapped_column(String(2048))
    # Disabled rather than deleted: delivery records keep naming the channel.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class NotificationChannelsVersion(Base):
    """One row whose ``version`` grows with every channel change, in the same transaction:
    each server process's directory reads this number (cheap) to learn whether its cached
    channels are still current, and reads the channels themselves only when it moved."""

    __tablename__ = "notification_channels_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    # A known text sealed with the first key used on this database: a process started with
    # another key is stopped at start (server/notify/secret_box.py: check_secret_key).
    key_check: Mapped[str | None] = mapped_column(String(512))


class NotificationDelivery(Base):
    """One attempt to hand one notification to one channel: its outcome, the HTTP status (a
    webhook's), what went wrong. ``target`` is the topic or the URL cut to scheme, host and
    path (providers put keys in query strings)."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    responder_id: Mapped[int | None] = mapped_column(
        ForeignKey("responders.id", ondelete="SET NULL")
    )
    # None for the MQTT topic every responder has by default (no row configures it).
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))  # "mqtt", "webhook:sms" ...
    target: Mapped[str] = mapped_column(String(2048))
    notification_id: Mapped[str] = mapped_column(String(96))  # alarm/responder/ladder attempt
    ladder_attempt: Mapped[int] = mapped_column(Integer)  # the escalation ladder's repeat
    attempt: Mapped[int] = mapped_column(Integer)  # 1, 2 ... within this delivery
    outcome: Mapped[str] = mapped_column(String(16))  # DELIVERY_OUTCOMES
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))
    at: Mapped[datetime] = mapped_column(index=True)
