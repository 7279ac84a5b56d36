"""A small district for dispatch tests: a city, a community, one home with its gateway, a
resident living alone with dementia, and responders at known distances from the home."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from server.db.care_models import Home, HomeGateway, Organisation, Resident, Responder

HOME_POSITION = (31.2304, 121.4737)
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai


def north_of_home(metres: float) -> float:
    return HOME_POSITION[0] + metres / 111_195.0


@dataclass(frozen=True)
class District:
    city_id: int
    community_id: int
    home_id: str
    gateway_id: str
    resident_id: int
    daughter_id: int  # family, 3 km away
    worker_ids: tuple[int, int]  # care workers 500 m and 1,200 m away (the nearer one skilled)
    ambulance_id: int  # emergency services, 4 km away


def seed_district(
    session: Session, *, gateway_id: str = "gw-1", settings: dict[str, Any] | None = None
) -> District:
    city = Organisation(name="City", level="city", dispatch_settings={}, created_at=T0)
    session.add(city)
    session.flush()
    community = Organisation(
        name="Community",
        level="community",
        parent_id=city.id,
        dispatch_settings=settings or {},
        created_at=T0,
    )
    session.add(community)
    session.flush()
    home = Home(
        id=f"home-{gateway_id}",
        organisation_id=community.id,
        address="1 Renmin Avenue",
        latitude=HOME_POSITION[0],
        longitude=HOME_POSITION[1],
        area="urban",
        created_at=T0,
    )
    session.add(home)
    session.flush()
    session.add(HomeGateway(gateway_id=gateway_id, home_id=home.id))
    resident = Resident(
        home_id=home.id,
        name="Wang Lan",
        priority_groups=["living_alone", "dementia"],
        assessment_level=2,
        conditions=["hypertension"],
        contacts=[{"name": "Wang Mei", "relation": "daughter", "phone": "+86 100"}],
        consent=True,
        preferences={},
        created_at=T0,
    )
    session.add(resident)
    session.flush()
    daughter = responder(session, "Wang Mei", "family", 3000, resident_id=resident.id)
    near = responder(session, "Li Na", "care_worker", 500, skills=["first_aid", "lifting"])
    far = responder(session, "Zhao Gang", "care_worker", 1200)
    ambulance = responder(session, "120", "emergency_services", 4000, speed_kmh=40)
    return District(
        city.id,
        community.id,
        home.id,
        gateway_id,
        resident.id,
        daughter,
        (near, far),
        ambulance,
    )


def responder(session: Session, name: str, kind: str, metres_north: float, **extra: Any) -> int:
    row = Responder(
        name=name,
        kind=kind,
        latitude=north_of_home(metres_north),
        longitude=HOME_POSITION[1],
        speed_kmh=extra.pop("speed_kmh", 15.0),
        status="available",
        skills=extra.pop("skills", []),
        roster=[],
        created_at=T0,
        **extra,
    )
    session.add(row)
    session.flush()
    return row.id
