"""Request and response shapes of the alarm lifecycle, service orders and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Note = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Outcome = Literal["real_emergency", "false_alarm", "test", "cancelled"]
Service = Literal["meals", "medical_escort", "cleaning", "bathing", "other"]
ServiceOrderState = Literal["requested", "scheduled", "in_progress", "completed", "cancelled"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DispatchRequest(_In):
    responder_id: int | None = Field(
        default=None, description="whom to send; empty: the best suggestion"
    )


class ResponderAnswer(_In):
    responder_id: int


class ResolveRequest(_In):
    outcome: Outcome
    note: Note | None = None


class NoteRequest(_In):
    note: Note


class CancelEscalationRequest(_In):
    note: Note | None = None


class AlarmActionPublic(_Out):
    id: int
    alarm_id: str
    action: str
    actor: str
    at: datetime
    responder_id: int | None
    note: str | None
    detail: dict[str, Any]


class SuggestionPublic(BaseModel):
    responder_id: int
    name: str
    kind: str
    distance_m: float | None
    eta_s: float | None = Field(description="estimated arrival, seconds; null: no position")
    within_radius: bool
    has_skills: bool
    preferred: bool


class ServiceOrderCreate(_In):
    home_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    resident_id: int | None = None
    service: Service
    scheduled_for: datetime | None = None
    note: Note | None = None


class ServiceOrderChange(_In):
    """What an operator sets on an order; only the fields given change."""

    service: Service | None = None
    state: ServiceOrderState | None = None
    responder_id: int | None = None
    scheduled_for: datetime | None = None
    note: Note | None = None


class ServiceOrderPublic(_Out):
    id: int
    alarm_id: str | None
    home_id: str
    resident_id: int | None
    organisation_id: int | None
    service: str | None
    state: str
    responder_id: int | None
    scheduled_for: datetime | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class AuditEntryPublic(_Out):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]
