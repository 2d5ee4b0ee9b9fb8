"""The queue: tickets filtered and sorted by urgency, paged by keyset.

Urgency is priority first (P1 before P4), then the resolve deadline (the one
that breaches first comes first), then id. That order is exactly the partial
index `tickets_open_queue` (and the per-department / per-district ones), so the
first page of a million-ticket table reads a few index pages. The cursor is
the last row's (priority, resolve_due_at, id), opaque to clients.

`total` counts matches up to TOTAL_CAP: an exact count of a huge open queue
costs more than the page itself, and "1,000+" is all a screen needs
(`total_capped` says when the count stopped).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.models import CHANNELS
from server.errors import bad_request
from server.tickets.records import VIEW_SQL, ticket_json
from server.tickets.sla import OPEN_STATUSES, SLA_STATES, TERMINAL_STATUSES, state_sql

ALL_STATUSES = OPEN_STATUSES + TERMINAL_STATUSES
TOTAL_CAP = 1_000
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_QUERY = 200


@dataclass
class QueueQuery:
    statuses: tuple[str, ...] = OPEN_STATUSES
    priorities: tuple[int, ...] = ()
    department_id: int | None = None
    district_id: int | None = None
    channels: tuple[str, ...] = ()
    sla: str | None = None
    text: str = ""
    limit: int = DEFAULT_LIMIT
    after: tuple[int, datetime | None, int] | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _csv(raw: str) -> list[str]:
    return [p.strip() for p in raw.split(",") if p.strip()]


async def parse(conn: BaseDBAsyncClient, params: dict[str, str]) -> QueueQuery:
    """A QueueQuery from query-string parameters; every bad one is reported by name."""
    q = QueueQuery()
    nul = [k for k, v in params.items() if "\x00" in v]
    if nul:
        q.errors.update({k: "must not contain NUL characters" for k in nul})
        return q
    raw = params.get("status", "")
    if raw == "all":
        q.statuses = ALL_STATUSES
    elif raw:
        statuses = _csv(raw)
        bad = [s for s in statuses if s not in ALL_STATUSES]
        if bad:
            q.errors["status"] = f"unknown: {', '.join(bad)}; use all or {', '.join(ALL_STATUSES)}"
        q.statuses = tuple(statuses)
    if params.get("priority"):
        try:
            q.priorities = tuple(int(p.upper().lstrip("P")) for p in _csv(params["priority"]))
        except ValueError:
            q.priorities = (0,)
        if not all(1 <= p <= 4 for p in q.priorities):
            q.errors["priority"] = "P1..P4 or 1..4, comma separated"
    for name, table in (("department", "departments"), ("district", "districts")):
        code = params.get(name)
        if code:
            rows = await conn.execute_query_dict(f"SELECT id FROM {table} WHERE code = $1",
                                                 [code])
            if not rows:
                q.errors[name] = f"unknown {name} {code!r}"
            elif name == "department":
                q.department_id = rows[0]["id"]
            else:
                q.district_id = rows[0]["id"]
    if params.get("channel"):
        q.channels = tuple(_csv(params["channel"]))
        if not all(c in CHANNELS for c in q.channels):
            q.errors["channel"] = f"one or more of: {', '.join(CHANNELS)}"
    if params.get("sla"):
        q.sla = params["sla"]
        if q.sla not in SLA_STATES:
            q.errors["sla"] = f"one of: {', '.join(SLA_STATES)}"
    q.text = params.get("q", "").strip()
    if len(q.text) > MAX_QUERY:
        q.errors["q"] = f"at most {MAX_QUERY} characters"
    if params.get("limit"):
        raw_limit = params["limit"]
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            q.errors["limit"] = f"a whole number from 1 to {MAX_LIMIT}"
        else:
            q.limit = int(raw_limit)
    if params.get("cursor"):
        try:
            q.after = decode_cursor(params["cursor"])
        except ValueError:
            q.errors["cursor"] = "not a cursor from this API"
    return q


def encode_cursor(row: dict[str, Any]) -> str:
    due = row["resolve_due_at"]
    raw = json.dumps([row["priority"], due.isoformat() if due else None, row["id"]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        prio, due, ident = json.loads(raw)
        prio, ident = int(prio), int(ident)
        when = datetime.fromisoformat(due) if due else None
    except (ValueError, TypeError) as exc:
        raise ValueError("bad cursor") from exc
    if not 1 <= prio <= 4 or not 0 <= ident < 2**63 or (when is not None and when.tzinfo is None):
        raise ValueError("bad cursor")
    return prio, when, ident


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def where(q: QueueQuery) -> tuple[list[str], list[Any]]:
    """WHERE clauses (alias t) and their parameters, without the keyset condition."""
    clauses: list[str] = []
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    if set(q.statuses) == set(OPEN_STATUSES):
        # Spelled exactly as the partial indexes' predicate so the planner uses them.
        clauses.append("t.status NOT IN ('resolved', 'closed', 'rejected', 'merged')")
    elif set(q.statuses) != set(ALL_STATUSES):
        clauses.append(f"t.status = ANY({param(list(q.statuses))}::text[])")
    if len(q.priorities) == 1:
        # Equality, so the (department|district, priority, due, id) indexes give the order.
        clauses.append(f"t.priority = {param(q.priorities[0])}")
    elif q.priorities:
        clauses.append(f"t.priority = ANY({param(list(q.priorities))}::smallint[])")
    if q.department_id is not None:
        clauses.append(f"t.department_id = {param(q.department_id)}")
    if q.district_id is not None:
        clauses.append(f"t.district_id = {param(q.district_id)}")
    if q.channels:
        clauses.append(f"t.channel = ANY({param(list(q.channels))}::text[])")
    if q.sla:
        clauses.append(state_sql(q.sla))
    if q.text:
        like = param(_like(q.text))
        clauses.append(f"(t.description ILIKE {like} OR t.address ILIKE {like}"
                       f" OR t.reference = {param(q.text.upper())})")
    return clauses, params


async def page(conn: BaseDBAsyncClient, q: QueueQuery) -> dict[str, Any]:
    """One page of the queue: {"items", "total", "total_capped", "next_cursor"}."""
    if q.errors:
        raise bad_request("invalid query: " + ", ".join(sorted(q.errors)), q.errors)
    clauses, params = where(q)
    count_where = " AND ".join(clauses) or "true"
    count_rows = await conn.execute_query_dict(
        f"SELECT count(*) AS n FROM (SELECT 1 FROM tickets t WHERE {count_where}"
        f" LIMIT {TOTAL_CAP + 1}) s", params)
    total = int(count_rows[0]["n"])
    page_clauses = list(clauses)
    page_params = list(params)
    if q.after is not None:
        prio, due, ident = q.after
        n = len(page_params)
        p, i = f"${n + 1}", f"${n + 2}"
        page_params += [prio, ident]
        if due is None:
            page_clauses.append(f"(t.priority > {p} OR (t.priority = {p}"
                                f" AND t.resolve_due_at IS NULL AND t.id > {i}))")
        else:
            page_params.append(due)
            d = f"${n + 3}"
            page_clauses.append(f"((t.priority, t.resolve_due_at, t.id) > ({p}, {d}, {i})"
                                f" OR (t.priority = {p} AND t.resolve_due_at IS NULL))")
    sql = (f"{VIEW_SQL} WHERE {' AND '.join(page_clauses) or 'true'}"
           f" ORDER BY t.priority, t.resolve_due_at, t.id LIMIT {q.limit + 1}")
    rows = await conn.execute_query_dict(sql, page_params)
    more = len(rows) > q.limit
    rows = rows[:q.limit]
    now = datetime.now(UTC)
    return {"items": [ticket_json(r, now) for r in rows],
            "total": min(total, TOTAL_CAP), "total_capped": total > TOTAL_CAP,
            "next_cursor": encode_cursor(rows[-1]) if more and rows else None}
