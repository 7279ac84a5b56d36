"""Which responders to send, best first. Pure: data and a moment in, a ranked list out.

Only responders who can go are candidates: status ``available``, on duty by their roster at
that moment, of a kind the ladder's rung asks for, and, for family members, family of this
resident. They are ranked by, in turn:

1. arriving within the response radius (15 min in town, 30 in remote areas by default),
2. having the skills this alarm kind needs,
3. being one the resident prefers,
4. the estimated arrival (great circle x detour factor / travel speed), nearest first.

Inside the radius, everyone arrives in time, so the right skills and the resident's trust
count for more than a few minutes; outside it, arriving first is what matters.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from server.dispatch.geo import eta_s, haversine_m
from server.dispatch.roster import on_duty
from server.dispatch.settings import DispatchSettings


class ResponderLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def resident_id(self) -> int | None: ...
    @property
    def skills(self) -> list[str]: ...
    @property
    def roster(self) -> list[dict[str, Any]]: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...
    @property
    def speed_kmh(self) -> float: ...


@dataclass(frozen=True)
class Scene:
    """Where help is needed, for whom, and for what."""

    alarm_kind: str
    latitude: float | None
    longitude: float | None
    area: str = "urban"
    resident_id: int | None = None
    preferred: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Suggestion:
    responder_id: int
    kind: str
    distance_m: float | None
    eta_s: float | None
    within_radius: bool
    has_skills: bool
    preferred: bool

    def sort_key(self) -> tuple[bool, bool, bool, float, int]:
        eta = math.inf if self.eta_s is None else self.eta_s
        return (
            not self.within_radius,
            not self.has_skills,
            not self.preferred,
            eta,
            self.responder_id,
        )


def can_go(
    responder: ResponderLike, scene: Scene, now: datetime, settings: DispatchSettings
) -> bool:
    """Available, on duty now, and (for family) family of this resident."""
    if responder.status != "available":
        return False
    if responder.kind == "family" and (
        scene.resident_id is None or responder.resident_id != scene.resident_id
    ):
        return False
    return on_duty(responder.roster, now, settings.zone)


def assess(responder: ResponderLike, scene: Scene, settings: DispatchSettings) -> Suggestion:
    """How well ``responder`` fits ``scene``, whether or not they can go now."""
    distance = eta = None
    here = _position(responder.latitude, responder.longitude)
    there = _position(scene.latitude, scene.longitude)
    if here is not None and there is not None:
        distance = haversine_m(*there, *here)
        eta = eta_s(distance, responder.speed_kmh, settings.detour_factor)
    radius_s = 60.0 * settings.response_minutes.get(scene.area, 15.0)
    needed = set(_needed_skills(settings.skills, scene.alarm_kind))
    return Suggestion(
        responder_id=responder.id,
        kind=responder.kind,
        distance_m=distance,
        eta_s=None if eta is None or math.isinf(eta) else eta,
        within_radius=eta is not None and eta <= radius_s,
        has_skills=needed <= set(responder.skills),
        preferred=responder.id in scene.preferred,
    )


def rank(
    responders: Iterable[ResponderLike],
    scene: Scene,
    now: datetime,
    settings: DispatchSettings,
    *,
    kinds: Collection[str] | None = None,
) -> list[Suggestion]:
    """The responders who can go now (of ``kinds``, if given), best first."""
    chosen = [
        assess(r, scene, settings)
        for r in responders
        if (kinds is None or r.kind in kinds) and can_go(r, scene, now, settings)
    ]
    return sorted(chosen, key=Suggestion.sort_key)


def _needed_skills(table: Mapping[Any, Sequence[str]], alarm_kind: str) -> Sequence[str]:
    return next((skills for kind, skills in table.items() if str(kind) == alarm_kind), ())


def _position(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
    return None if latitude is None or longitude is None else (latitude, longitude)
