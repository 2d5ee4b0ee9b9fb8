"""Nearest cameras to an alarm, by great-circle distance.

The city has tens of cameras, not millions: one indexed scan and a haversine in
Python is simpler than PostGIS and well under a millisecond.
"""

from __future__ import annotations

import math
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

EARTH_RADIUS_M = 6_371_000.0
NEAREST_CAMERAS = 4


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


async def nearest_cameras(conn: BaseDBAsyncClient, lat: float, lon: float,
                          limit: int = NEAREST_CAMERAS) -> list[dict[str, Any]]:
    """The `limit` enabled cameras closest to (lat, lon), nearest first."""
    rows = await conn.execute_query_dict(
        "SELECT code, name, lat, lon FROM cameras WHERE enabled")
    ranked = sorted(
        ({"code": r["code"], "name": r["name"],
          "distance_m": round(distance_m(lat, lon, r["lat"], r["lon"]))} for r in rows),
        key=lambda c: (c["distance_m"], c["code"]))
    return ranked[:limit]
