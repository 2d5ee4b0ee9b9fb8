"""Looking up the city's categories, districts and departments by code.

Districts are stored as centre points, not polygons: the nearest centre is right
for almost every address in Bandung (kecamatan are a few km across), and a point
more than MAX_DISTRICT_KM from every centre is outside the city: no district
(routing.intake_contexts finds it in the same query as the rest of intake's lookups).
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

MAX_DISTRICT_KM = 8.0


async def _one(conn: BaseDBAsyncClient, sql: str, params: list[Any]) -> dict[str, Any] | None:
    if any(isinstance(p, str) and "\x00" in p for p in params):
        return None  # no code contains NUL, and Postgres could not even compare it
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
