"""Great-circle distance, the formula the alarm INSERT ranks cameras with.

The city has tens of cameras, so the ranking runs in SQL inside the statement
that creates the alarm (server/alarms/lifecycle.py `_INSERT_ALARM`); this Python
twin is what tests check that SQL against, and what tools use for one-off sums.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_000.0
NEAREST_CAMERAS = 4


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
