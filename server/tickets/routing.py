"""Which department should act: routing rules, category x district -> department.

A rule for the ticket's district wins over the category's city-wide rule (NULL
district), which wins over the category's own department. The answer is only a
suggestion stored on the ticket; an operator confirms it (or picks another) with
one `route` action.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

_SUGGEST = """
SELECT department_id FROM (
    SELECT r.department_id, 0 AS rank FROM routing_rules r
     WHERE r.category_id = $1 AND r.district_id = $2
    UNION ALL
    SELECT r.department_id, 1 FROM routing_rules r
     WHERE r.category_id = $1 AND r.district_id IS NULL
    UNION ALL
    SELECT c.department_id, 2 FROM categories c WHERE c.id = $1 AND c.department_id IS NOT NULL
) s ORDER BY rank LIMIT 1
"""


async def suggest(conn: BaseDBAsyncClient, category_id: int | None,
                  district_id: int | None) -> int | None:
    """The suggested department id, or None when the category is unknown."""
    if category_id is None:
        return None
    rows = await conn.execute_query_dict(_SUGGEST, [category_id, district_id])
    return int(rows[0]["department_id"]) if rows else None
