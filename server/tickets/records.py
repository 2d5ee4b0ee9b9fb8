"""Reading tickets: one SELECT with the joins the API shows, and the ticket JSON.

Everything that answers with a ticket (REST, events, Open311, the pages) starts
from `VIEW_SQL` rows, so a ticket looks the same wherever it is seen.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.tickets.routing import SUGGESTION_JOIN
from server.tickets.sla import sla_state

VIEW_COLUMNS = """
t.*, c.code AS c_code, c.name AS c_name, c.name_en AS c_name_en,
d.code AS d_code, d.name AS d_name,
dep.code AS dep_code, dep.name AS dep_name,
sd.id AS suggested_department_id, sd.code AS sd_code, sd.name AS sd_name,
m.reference AS m_reference
"""
# The suggested department is asked of the routing rules on every read (see
# routing.py), never stored, so it cannot go stale.
VIEW_JOINS = f"""
LEFT JOIN categories c ON c.id = t.category_id
LEFT JOIN districts d ON d.id = t.district_id
LEFT JOIN departments dep ON dep.id = t.department_id
{SUGGESTION_JOIN}LEFT JOIN tickets m ON m.id = t.merged_into_id
"""
VIEW_SQL = f"SELECT {VIEW_COLUMNS} FROM tickets t {VIEW_JOINS}"

# Top-level payload keys every ticket event carries: the wall shows only these.
SUMMARY_KEYS = ("status", "priority", "reference", "category", "channel", "department_id",
                "district_id", "resolve_due_at", "ack_due_at")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _jsonb(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def fetch_view(conn: BaseDBAsyncClient, ticket_id: int, *,
                     lock: bool = False) -> dict[str, Any] | None:
    """The joined row of one ticket; `lock` takes the ticket row FOR UPDATE."""
    sql = VIEW_SQL + " WHERE t.id = $1" + (" FOR UPDATE OF t" if lock else "")
    rows = await conn.execute_query_dict(sql, [ticket_id])
    if not rows:
        return None
    return view_row(rows[0])


def view_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row selected with VIEW_COLUMNS, ready for ticket_json."""
    row["attributes"] = _jsonb(row.get("attributes")) or {}
    return row


async def resolve_key(conn: BaseDBAsyncClient, key: str) -> int | None:
    """A ticket id from a path segment: a numeric id or a public reference."""
    if "\x00" in key or len(key) > 60:
        return None
    if key.isdigit() and len(key) < 19:
        rows = await conn.execute_query_dict("SELECT id FROM tickets WHERE id = $1",
                                             [int(key)])
    else:
        rows = await conn.execute_query_dict("SELECT id FROM tickets WHERE reference = $1",
                                             [key.strip().upper()])
    return int(rows[0]["id"]) if rows else None


def ticket_json(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The API's ticket shape (see README: the ticket JSON)."""
    now = now or datetime.now(UTC)
    reporter = None
    if not row["anonymous"] and (row["reporter_name"] or row["reporter_phone"]
                                 or row["reporter_email"]):
        reporter = {"name": row["reporter_name"], "phone": row["reporter_phone"],
                    "email": row["reporter_email"]}
    return {
        "id": row["id"],
        "reference": row["reference"],
        "channel": row["channel"],
        "category": ({"code": row["c_code"], "name": row["c_name"], "name_en": row["c_name_en"]}
                     if row["c_code"] else None),
        "priority": row["priority"],
        "status": row["status"],
        "address": row["address"],
        "district": {"code": row["d_code"], "name": row["d_name"]} if row["d_code"] else None,
        "lat": row["lat"],
        "lon": row["lon"],
        "reporter": reporter,
        "anonymous": row["anonymous"],
        "description": row["description"],
        "department": ({"code": row["dep_code"], "name": row["dep_name"]}
                       if row["dep_code"] else None),
        "suggested_department": ({"code": row["sd_code"], "name": row["sd_name"]}
                                 if row["sd_code"] else None),
        "tags": list(row["tags"] or []),
        "flagged": row["flagged"],
        "close_reason": row["close_reason"],
        "ack_due_at": iso(row["ack_due_at"]),
        "resolve_due_at": iso(row["resolve_due_at"]),
        "sla_state": sla_state(row, now),
        # The queue's order (server/tickets/queue.py): sort by (queue_rank,
        # queue_due_at with null last, id) to list tickets as the server does.
        "queue_rank": row["queue_rank"],
        "queue_due_at": iso(row["queue_due_at"]),
        "merged_into": row["m_reference"],
        "version": row["version"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def event_payload(row: dict[str, Any], changes: dict[str, list[Any]],
                  **extra: Any) -> dict[str, Any]:
    """Payload of a ticket event: the wall's summary keys, the whole ticket, the diff."""
    ticket = ticket_json(row)
    return {
        "status": row["status"],
        "priority": row["priority"],
        "reference": row["reference"],
        "category": row["c_code"],
        "channel": row["channel"],
        "department_id": row["department_id"],
        "district_id": row["district_id"],
        "resolve_due_at": ticket["resolve_due_at"],
        "ack_due_at": ticket["ack_due_at"],
        "ticket": ticket,
        "changes": changes,
        **extra,
    }


_NOT_CHANGES = ("updated_at", "version", "sla_state", "queue_rank", "queue_due_at")


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} over the ticket JSON (the API's vocabulary)."""
    if before is None:
        return {k: [None, v] for k, v in after.items() if k not in _NOT_CHANGES}
    return {k: [before.get(k), v] for k, v in after.items()
            if k not in _NOT_CHANGES and before.get(k) != v}
