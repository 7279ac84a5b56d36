"""Dispatch and escalation settings: defaults here, overridden per organisation.

An organisation's ``dispatch_settings`` JSON holds only what it changes; a community inherits
what its street, district and city set, nearest first (a shallow merge per top-level key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from protocol import AlarmKind

ResponderKind = Literal["family", "care_worker", "volunteer", "emergency_services"]


class LadderLevel(BaseModel):
    """One rung: which kinds of responder, and how many of them in turn, best first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[ResponderKind] = Field(min_length=1)
    responders: int = Field(default=1, ge=1, le=20)


class DispatchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Roster windows are local times in this zone (IANA name).
    timezone: str = "UTC"
    # How long a responder has to accept after each notification.
    notify_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # Notifications per responder (the first plus repeats) before the next one is asked.
    notify_attempts: int = Field(default=2, ge=1, le=10)
    levels: list[LadderLevel] = Field(
        default_factory=lambda: [
            LadderLevel(kinds=["family"], responders=2),
            LadderLevel(kinds=["care_worker", "volunteer"], responders=3),
            LadderLevel(kinds=["emergency_services"], responders=1),
        ],
        min_length=1,
    )
    # Alarms the engine escalates by itself; the rest wait for an operator.
    auto_dispatch_kinds: list[AlarmKind] = Field(
        default_factory=lambda: [
            AlarmKind.EMERGENCY_CALL,
            AlarmKind.FALL,
            AlarmKind.INACTIVITY,
            AlarmKind.WANDERING,
            AlarmKind.NIGHT_BED_EXIT,
            AlarmKind.MISSED_CHECKIN,
            AlarmKind.SMOKE,
            AlarmKind.GAS,
        ]
    )
    # Response radius in minutes (a family-care-bed notice: 15 in town, 30 in remote areas):
    # responders who can arrive within it are ranked by skills and preference first.
    response_minutes: dict[str, float] = Field(
        default_factory=lambda: {"urban": 15.0, "remote": 30.0}
    )
    # Roads are longer than great circles; without a map service this factor stands in.
    detour_factor: float = Field(default=1.3, ge=1.0, le=5.0)
    # Skills a responder should have for an alarm kind.
    skills: dict[AlarmKind, list[str]] = Field(
        default_factory=lambda: {
            AlarmKind.FALL: ["first_aid", "lifting"],
            AlarmKind.EMERGENCY_CALL: ["first_aid"],
            AlarmKind.INACTIVITY: ["first_aid"],
            AlarmKind.WANDERING: ["dementia_care"],
            AlarmKind.NIGHT_BED_EXIT: ["dementia_care"],
        }
    )
    # How much a priority group makes an alarm more urgent (priority 0 is the most urgent).
    priority_boost: dict[str, int] = Field(
        default_factory=lambda: {
            "dementia": 1,
            "living_alone": 1,
            "severe_disability": 1,
            "bereaved_only_child": 1,
        }
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


DEFAULTS = DispatchSettings()


def resolve(overrides: Iterable[Mapping[str, Any]]) -> DispatchSettings:
    """The effective settings: defaults, then each override in order (root first)."""
    merged: dict[str, Any] = DEFAULTS.model_dump()
    for layer in overrides:
        merged.update(layer)
    return DispatchSettings.model_validate(merged)
