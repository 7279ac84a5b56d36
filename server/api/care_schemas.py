"""Request and response shapes of the care records: Create (what a client sends, also for a
full replacement with PUT) and Public (what it gets back), plus a page of results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from protocol.messages import DEVICE_ID_PATTERN
from protocol.topics import GATEWAY_ID_PATTERN

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
HomeId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN, max_length=200)]
GatewayId = Annotated[str, StringConstraints(pattern=GATEWAY_ID_PATTERN)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Level = Literal["city", "district", "street", "community"]
PriorityGroup = Literal[
    "living_alone",
    "advanced_age",
    "disabled",
    "dementia",
    "bereaved_only_child",
    "severe_disability",
]
ResponderKind = Literal["family", "care_worker", "volunteer", "emergency_services"]
ResponderStatus = Literal["available", "busy", "off_duty"]
T = TypeVar("T")
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class OrganisationCreate(_In):
    name: Name
    level: Level
    parent_id: int | None = None


class OrganisationPublic(OrganisationCreate, _Out):
    id: int
    dispatch_settings: dict[str, Any]
    created_at: datetime


class HomeCreate(_In):
    id: HomeId  # the id its gateway declares (GATEWAY_HOME_ID)
    organisation_id: int
    address: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    latitude: Latitude
    longitude: Longitude
    area: Literal["urban", "remote"] = "urban"
    gateway_ids: list[GatewayId] = Field(default_factory=list, max_length=8)


class HomePublic(HomeCreate, _Out):
    created_at: datetime


class Contact(_In):
    name: Name
    relation: Annotated[str, StringConstraints(max_length=64)] = ""
    phone: Annotated[str, StringConstraints(min_length=3, max_length=64)]


class ResidentCreate(_In):
    home_id: HomeId
    name: Name
    priority_groups: list[PriorityGroup] = Field(default_factory=list)
    assessment_level: int | None = Field(default=None, ge=0, le=3)
    conditions: list[Tag] = Field(default_factory=list, max_length=50)
    contacts: list[Contact] = Field(default_factory=list, max_length=20)  # calling order
    consent: bool = False
    consent_date: date | None = None
    # e.g. {"preferred_responders": [3, 7]}
    preferences: dict[str, Any] = Field(default_factory=dict)
    checkin_due: HHMM | None = Field(
        default=None,
        description="daily check-in by this local time at home; pushed to the home's gateway",
    )


class ResidentPublic(ResidentCreate, _Out):
    id: int
    created_at: datetime


class RosterWindow(_In):
    day: int = Field(ge=0, le=6, description="Monday = 0")
    start: HHMM
    end: HHMM  # not after start: the window runs past midnight


class ResponderCreate(_In):
    name: Name
    kind: ResponderKind
    organisation_id: int | None = None
    resident_id: int | None = Field(default=None, description="family: whose family")
    provider: Annotated[str, StringConstraints(max_length=200)] | None = None
    phone: Annotated[str, StringConstraints(max_length=64)] | None = None
    skills: list[Tag] = Field(default_factory=list, max_length=50)
    roster: list[RosterWindow] = Field(default_factory=list, max_length=50)
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    speed_kmh: float = Field(default=15.0, gt=0, le=200)
    status: ResponderStatus = "available"


class ResponderPublic(ResponderCreate, _Out):
    id: int
    created_at: datetime


class ResponderStatusChange(_In):
    status: ResponderStatus
