"""Which department should act: routing rules, category x district -> department.

A rule for the ticket's district wins over the category's city-wide rule (NULL
district), which wins over the category's own department. The answer is only a
suggestion; an operator confirms it (or picks another) with one `route` action.

The suggestion is not stored: every read of a ticket (records.VIEW_SQL) asks the
rules as they are now, for the ticket's category and district as they are now,
so it can never be stale: not for a ticket filed before its rule existed, nor
after a triage changed its category, nor for one loaded by a seed or an import.
Only tickets in a routable (open) status get one.

Intake asks everything it needs to know about a new ticket's place in the city
(category, district, suggestion, SLA policy) in one round trip: `intake_contexts`,
for a whole batch of new tickets at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from server.tickets.places import MAX_DISTRICT_KM
from server.tickets.sla import OPEN_STATUSES, Policy


def _rules(category: str, district: str) -> str:
    """The suggested department id as an SQL expression over a category and a
    district id: the first rule that answers, in rank order. Each lookup is one
    row at most (routing_rules is unique per category and district), and scalar
    subqueries keep it cheap to plan, which every queue page pays for."""
    return f"""COALESCE(
        (SELECT r.department_id FROM routing_rules r
          WHERE r.category_id = {category} AND r.district_id = {district}),
        (SELECT r.department_id FROM routing_rules r
          WHERE r.category_id = {category} AND r.district_id IS NULL),
        (SELECT cc.department_id FROM categories cc WHERE cc.id = {category}))"""


_SUGGEST = f"SELECT {_rules('$1::int', '$2::int')} AS department_id"

# For records.VIEW_SQL: the suggested department `sd` of the ticket row `t`.
SUGGESTION_JOIN = f"""LEFT JOIN departments sd
    ON sd.id = CASE WHEN t.status IN ({", ".join(f"'{s}'" for s in OPEN_STATUSES)})
                    THEN {_rules("t.category_id", "t.district_id")} END
"""

# Per intake row i (category code, district code, lat, lon, channel): the
# category (unknown when it belongs to another channel: the panic button's is
# its own), the district (by code, or the nearest centre), the suggested
# department and its SLA policy.
_CONTEXTS = f"""
SELECT i.n, c.id AS category_id, c.default_priority, dc.id AS district_by_code,
       dn.id AS district_by_position, s.department_id AS suggested,
       p.sla_ack_minutes, p.sla_dispatch_minutes, p.sla_verify_days, p.sla_resolve_days
FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[])
     WITH ORDINALITY AS i(category, district, lat, lon, channel, n)
LEFT JOIN categories c ON c.code = i.category AND c.active
      AND (c.channel IS NULL OR c.channel = i.channel)
LEFT JOIN districts dc ON dc.code = i.district
LEFT JOIN LATERAL (
    SELECT id FROM (SELECT id, 111.32 * sqrt(power(lat - i.lat, 2)
                           + power((lon - i.lon) * cos(radians(i.lat)), 2)) AS km
                    FROM districts) near
    WHERE i.lat IS NOT NULL AND km <= {MAX_DISTRICT_KM} ORDER BY km LIMIT 1) dn ON true
LEFT JOIN LATERAL (SELECT {_rules("c.id", "COALESCE(dc.id, dn.id)")} AS department_id) s
       ON true
LEFT JOIN departments p ON p.id = COALESCE(s.department_id, c.department_id)
ORDER BY i.n
"""


@dataclass(frozen=True)
class IntakeContext:
    category_id: int | None
    default_priority: int | None
    district_by_code: int | None
    district_by_position: int | None
    suggested_department_id: int | None
    policy: Policy


Place = tuple[str | None, str | None, float | None, float | None, str]


async def intake_contexts(conn: BaseDBAsyncClient, places: list[Place]) -> list[IntakeContext]:
    """For each (category code, district code, lat, lon, channel), in one round trip."""
    if not places:
        return []
    rows = await conn.execute_query_dict(_CONTEXTS, [list(col) for col in zip(*places,
                                                                              strict=True)])
    out = []
    for r in rows:
        policy = Policy.from_row(r) if r["sla_ack_minutes"] is not None else Policy()
        out.append(IntakeContext(r["category_id"], r["default_priority"],
                                 r["district_by_code"], r["district_by_position"],
                                 r["suggested"], policy))
    return out


async def suggest(conn: BaseDBAsyncClient, category_id: int | None,
                  district_id: int | None) -> int | None:
    """The suggested department id, or None when the category is unknown."""
    if category_id is None:
        return None
    rows = await conn.execute_query_dict(_SUGGEST, [category_id, district_id])
    found = rows[0]["department_id"] if rows else None
    return int(found) if found is not None else None
