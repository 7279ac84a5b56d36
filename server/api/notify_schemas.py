"""Notification channels and delivery records on the wire.

A webhook's secret goes in and never comes out; nor does its full URL, which may carry a
provider's key in the query string or userinfo: answers show ``target`` (scheme, host, path)
and whether a secret is set. Both arrive as ``SecretStr``, so a parsed request body printed in
a log or a traceback shows stars.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from server.db.notify_models import NotificationChannel, NotificationDelivery
from server.notify.deliveries import redact

ChannelKind = Literal["mqtt", "webhook"]
Adapter = Literal["generic", "sms", "voice"]
Label = Annotated[str, Field(min_length=1, max_length=80)]
# Long enough that it cannot be guessed; the column holds 256.
Secret = Annotated[SecretStr, Field(min_length=16, max_length=256)]
Url = Annotated[SecretStr, Field(min_length=1, max_length=2048)]
RecordId = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _webhook_url(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a webhook URL is http:// or https:// with a host")
        # urlsplit parses any port text and only complains when .port is read: a port that
        # passed here once was stored, then broke every answer showing the channel (its
        # target) and every call on it. The message names no part of the URL (write-only).
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError("a webhook URL's port is a number from 1 to 65535")
    return value


class ChannelCreate(BaseModel):
    """A webhook needs ``url`` and ``secret``; an MQTT channel needs neither (its topic follows
    from the responder)."""

    model_config = ConfigDict(extra="forbid")

    responder_id: RecordId
    kind: ChannelKind
    adapter: Adapter = "generic"
    label: Label | None = None
    url: Url | None = None
    secret: Secret | None = None

    _url = field_validator("url")(_webhook_url)

    @model_validator(mode="after")
    def _settings_fit_the_kind(self) -> ChannelCreate:
        webhook = self.kind == "webhook"
        if webhook and (self.url is None or self.secret is None):
            raise ValueError("a webhook channel needs url and secret")
        if not webhook and (self.url is not None or self.secret is not None):
            raise ValueError("an MQTT channel takes no url or secret")
        if not webhook and self.adapter != "generic":
            raise ValueError("adapters are for webhooks")
        return self


class ChannelUpdate(BaseModel):
    """Only the fields sent change; ``enabled: false`` disables the channel (it is kept, so
    its delivery records still name it)."""

    model_config = ConfigDict(extra="forbid")

    adapter: Adapter | None = None
    label: Label | None = None
    url: Url | None = None
    secret: Secret | None = None
    enabled: bool | None = None

    _url = field_validator("url")(_webhook_url)

    def changes(self) -> dict[str, object]:
        """The columns to set, secrets unwrapped; a field sent as null changes nothing but
        the label (which may be cleared)."""
        sent = self.model_dump(exclude_unset=True)
        values: dict[str, object] = {k: v for k, v in sent.items() if v is not None or k == "label"}
        for name in ("url", "secret"):
            wrapped = getattr(self, name)
            if name in values and wrapped is not None:
                values[name] = wrapped.get_secret_value()
        return values


class ChannelPublic(BaseModel):
    id: int
    responder_id: int
    kind: str
    adapter: str
    label: str | None
    target: str | None = Field(description="a webhook's URL without query string or userinfo")
    has_secret: bool
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: NotificationChannel) -> ChannelPublic:
        return cls(
            id=row.id,
            responder_id=row.responder_id,
            kind=row.kind,
            adapter=row.adapter,
            label=row.label,
            target=redact(row.url) if row.url else None,
            has_secret=bool(row.secret),
            enabled=row.enabled,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class DeliveryPublic(BaseModel):
    """One attempt to hand a notification to a channel."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    alarm_id: str
    responder_id: int | None
    channel_id: int | None = Field(description="null: the responder's default MQTT topic")
    channel: str
    target: str
    notification_id: str
    ladder_attempt: int
    attempt: int
    outcome: str
    status_code: int | None
    error: str | None
    at: datetime

    @classmethod
    def of(cls, row: NotificationDelivery) -> DeliveryPublic:
        return cls.model_validate(row)
