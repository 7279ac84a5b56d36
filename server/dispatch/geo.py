"""Distance and estimated arrival without a map service: great circle times a detour factor."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def eta_s(distance_m: float, speed_kmh: float, detour_factor: float) -> float:
    """Seconds to cover ``distance_m`` of great circle at ``speed_kmh`` along real roads."""
    if speed_kmh <= 0:
        return math.inf
    return distance_m * detour_factor / (speed_kmh / 3.6)
