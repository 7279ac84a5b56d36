"""What the REST API and the live stream return (public shapes, separate from the tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.db.models import Alarm


class AlarmPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    gateway_id: str
    home_id: str
    device_id: str | None
    kind: str
    priority: int
    status: str
    device_time: datetime | None
    gateway_time: datetime
    received_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    origin: dict[str, Any]
    # The lifecycle (server/crud/lifecycle.py) and escalation (server/dispatch/).
    state: str
    outcome: str | None
    resolved_at: datetime | None
    organisation_id: int | None
    resident_id: int | None
    responder_id: int | None
    escalation_state: str | None
    next_step_at: datetime | None
    # Grows with every change of the alarm: a client keeps the copy with the higher version
    # (an event that raced a list read never undoes a newer state).
    version: int

    @classmethod
    def of(cls, alarm: Alarm) -> AlarmPublic:
        origin = alarm.message.get("body", {}).get("origin", {})
        return cls.model_validate({**_columns(alarm), "origin": origin})


class AlarmDetail(AlarmPublic):
    """One alarm with everything the console shows about it: a fall's acceleration trace,
    what a home detector or device saw (``detail``: since when nothing moved, the breathing
    pause, the room)."""

    trace: dict[str, Any] | None = None
    detail: dict[str, Any] = {}

    @classmethod
    def of(cls, alarm: Alarm) -> AlarmDetail:
        body = alarm.message.get("body", {})
        return cls.model_validate(
            {
                **_columns(alarm),
                "origin": body.get("origin", {}),
                "trace": body.get("trace"),
                "detail": body.get("detail") or {},
            }
        )


def _columns(alarm: Alarm) -> dict[str, Any]:
    return {c: getattr(alarm, c) for c in AlarmPublic.model_fields if c != "origin"}


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 scheme name, not a secret
    username: str
    role: str


class UserPublic(BaseModel):
    username: str
    role: str
    # The record a responder or family account is bound to.
    responder_id: int | None = None
    resident_id: int | None = None
    # What the account may do (``server/api/permissions.py``): the console shows a section
    # or an action only when its request would be allowed, without a copy of the roles table.
    permissions: list[str] = []


class RejectedPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    topic: str
    reason: str
    detail: str
    payload: str


class GatewayPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    home_id: str
    state: str
    heartbeat_interval_s: int
    last_seen_at: datetime


class DeviceEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    gateway_id: str
    device_id: str | None
    kind: str
    detail: dict[str, Any]
    gateway_time: datetime


def live_event(kind: str, alarm: Alarm) -> dict[str, Any]:
    return {"type": kind, "alarm": AlarmPublic.of(alarm).model_dump(mode="json")}
