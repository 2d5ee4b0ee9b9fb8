"""Keeping a ticket's stored due times right when what they depend on changes.

Due times depend on the priority, the responsible department's policy (the
routed department, else the suggested one, else the category's), when each
clock started (submission or reopen; routing) and how long it was paused. A
change to any of those recomputes them (sla.py states the rules).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.tickets import places, routing
from server.tickets.sla import Policy, clock_starts, due_times


async def policy_for(conn: BaseDBAsyncClient, department_id: int | None,
                     category_id: int | None) -> Policy:
    dept_id = department_id
    if dept_id is None and category_id is not None:
        rows = await conn.execute_query_dict(
            "SELECT department_id FROM categories WHERE id = $1", [category_id])
        dept_id = rows[0]["department_id"] if rows else None
    return Policy.from_row(await places.department_by_id(conn, dept_id))


async def with_due_times(conn: BaseDBAsyncClient, row: dict[str, Any],
                         values: dict[str, Any]) -> dict[str, Any]:
    """`values` plus recomputed due times for the ticket `row` as it will be once
    `values` are written.

    The clocks keep their starts (sla.clock_starts): a recompute changes how long
    they run, never when they started. A breach mark is cleared only when the
    moved deadline is no longer missed (then a new miss is a new breach); a
    deadline still in the past stays breached, once."""
    merged = {**row, **values}
    dept = merged["department_id"] or await routing.suggest(conn, merged["category_id"],
                                                             merged["district_id"])
    policy = await policy_for(conn, dept, merged["category_id"])
    if merged.get("created_at") is None:
        merged["created_at"] = datetime.now(UTC)
    submitted, routed = clock_starts(merged)
    ack, resolve = due_times(merged["priority"], policy, submitted=submitted, routed=routed,
                             paused_seconds=merged.get("sla_paused_seconds") or 0,
                             routed_paused_seconds=merged.get("routed_paused_seconds") or 0)
    now = datetime.now(UTC)
    out = dict(values)
    if ack != row.get("ack_due_at"):
        out["ack_due_at"] = ack
        if ack > now:
            out["ack_breached_at"] = None
    if resolve != row.get("resolve_due_at"):
        out["resolve_due_at"] = resolve
        if resolve is None or resolve > now:
            out["resolve_breached_at"] = None
    return out
