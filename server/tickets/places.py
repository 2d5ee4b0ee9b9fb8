"""Looking up the city's categories, districts and departments by code, and the
district a coordinate falls in.

Districts are stored as centre points, not polygons: the nearest centre is right
for almost every address in Bandung (kecamatan are a few km across), and a point
more than MAX_DISTRICT_KM from every centre is outside the city: no district.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

MAX_DISTRICT_KM = 8.0

# Equirectangular distance in km: exact enough at city scale, and cheap.
_NEAREST = """
SELECT id, code, name,
       111.32 * sqrt(power(lat - $1, 2) + power((lon - $2) * cos(radians($1)), 2)) AS km
FROM districts ORDER BY km LIMIT 1
"""


async def _one(conn: BaseDBAsyncClient, sql: str, params: list[Any]) -> dict[str, Any] | None:
    rows = await conn.execute_query_dict(sql, params)
    return rows[0] if rows else None


async def category(conn: BaseDBAsyncClient, code: str) -> dict[str, Any] | None:
    return await _one(conn, "SELECT * FROM categories WHERE code = $1 AND active", [code])


async def district(conn: BaseDBAsyncClient, code: str) -> dict[str, Any] | None:
    return await _one(conn, "SELECT * FROM districts WHERE code = $1", [code])


async def department(conn: BaseDBAsyncClient, code: str) -> dict[str, Any] | None:
    return await _one(conn, "SELECT * FROM departments WHERE code = $1 AND active", [code])


async def department_by_id(conn: BaseDBAsyncClient,
                           dept_id: int | None) -> dict[str, Any] | None:
    if dept_id is None:
        return None
    return await _one(conn, "SELECT * FROM departments WHERE id = $1", [dept_id])


async def district_at(conn: BaseDBAsyncClient, lat: float, lon: float) -> dict[str, Any] | None:
    """The district whose centre is nearest to (lat, lon), if within the city."""
    row = await _one(conn, _NEAREST, [lat, lon])
    if row is None or row["km"] > MAX_DISTRICT_KM:
        return None
    return row
