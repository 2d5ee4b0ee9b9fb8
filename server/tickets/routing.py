"""Which department should act: routing rules, category x district -> department.

A rule for the ticket's district wins over the category's city-wide rule (NULL
district), which wins over the category's own department. The answer is only a
suggestion stored on the ticket; an operator confirms it (or picks another) with
one `route` action.

Intake asks everything it needs to know about a new ticket's place in the city
(category, district, suggestion, SLA policy) in one round trip: `intake_context`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.tickets.places import MAX_DISTRICT_KM
from server.tickets.sla import Policy


def _rules(category: str, district: str) -> str:
    """The ranked-rules subquery for SQL expressions naming a category and district id."""
    return f"""
    SELECT department_id FROM (
        SELECT r.department_id, 0 AS rank FROM routing_rules r
         WHERE r.category_id = {category} AND r.district_id = {district}
        UNION ALL
        SELECT r.department_id, 1 FROM routing_rules r
         WHERE r.category_id = {category} AND r.district_id IS NULL
        UNION ALL
        SELECT cc.department_id, 2 FROM categories cc
         WHERE cc.id = {category} AND cc.department_id IS NOT NULL
    ) ranked ORDER BY rank LIMIT 1"""


_SUGGEST = _rules("$1", "$2")

_CONTEXT = f"""
SELECT c.id AS category_id, c.default_priority, dc.id AS district_by_code,
       dn.id AS district_by_position, s.department_id AS suggested,
       p.sla_ack_minutes, p.sla_dispatch_minutes, p.sla_verify_days, p.sla_resolve_days
FROM (SELECT 1) one
LEFT JOIN categories c ON c.code = $1 AND c.active
LEFT JOIN districts dc ON dc.code = $2
LEFT JOIN LATERAL (
    SELECT id FROM (SELECT id, 111.32 * sqrt(power(lat - $3, 2)
                           + power((lon - $4) * cos(radians($3)), 2)) AS km
                    FROM districts) near
    WHERE $3::float8 IS NOT NULL AND km <= {MAX_DISTRICT_KM} ORDER BY km LIMIT 1) dn ON true
LEFT JOIN LATERAL ({_rules("c.id", "COALESCE(dc.id, dn.id)")}) s ON true
LEFT JOIN departments p ON p.id = COALESCE(s.department_id, c.department_id)
"""


@dataclass(frozen=True)
class IntakeContext:
    category_id: int | None
    default_priority: int | None
    district_by_code: int | None
    district_by_position: int | None
    suggested_department_id: int | None
    policy: Policy


async def intake_context(conn: BaseDBAsyncClient, category: str | None, district: str | None,
                         lat: float | None, lon: float | None) -> IntakeContext:
    rows = await conn.execute_query_dict(_CONTEXT, [category, district, lat, lon])
    r: dict[str, Any] = rows[0]
    policy = Policy.from_row(r) if r["sla_ack_minutes"] is not None else Policy()
    return IntakeContext(r["category_id"], r["default_priority"], r["district_by_code"],
                         r["district_by_position"], r["suggested"], policy)


async def suggest(conn: BaseDBAsyncClient, category_id: int | None,
                  district_id: int | None) -> int | None:
    """The suggested department id, or None when the category is unknown."""
    if category_id is None:
        return None
    rows = await conn.execute_query_dict(_SUGGEST, [category_id, district_id])
    return int(rows[0]["department_id"]) if rows else None
