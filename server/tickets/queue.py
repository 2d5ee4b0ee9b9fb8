"""The queue: tickets filtered and sorted by what needs acting on first, paged by keyset.

The default order, as a control room works:
1. emergencies (P1, then P2) that no department has been sent yet (new or
   triaged): the center's own first action is due now. First come, first
   served: by arrival, oldest first. A new fire call is never below the
   long-overdue tickets departments are working on.
2. then everything else by priority (P1 to P4), and within a priority by the
   deadline that is running (acknowledge while the department has not, then
   resolve, or dispatch for an emergency): the one that breaches first, or
   breached longest ago, first; tickets with no clock running (paused, met)
   last.
3. then by id.
The ticket's `queue_rank` (0-1 for the first group, 2-5 for P1-P4) and
`queue_due_at` are stored generated columns (migration 0021) and the order is
exactly the partial index `tickets_open_queue` (and the per-department /
per-district ones), so the first page of a million-ticket table reads a few
index pages. The cursor is the last row's (queue_rank, queue_due_at, id),
opaque to clients.

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
    after: tuple[int, datetime | None, int] | None = None  # (queue_rank, queue_due_at, id)
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


def ranks(priority: int) -> tuple[int, ...]:
    """The queue ranks a priority can have (see the module docstring)."""
    return (priority - 1, priority + 1) if priority <= 2 else (priority + 1,)


def encode_cursor(row: dict[str, Any]) -> str:
    due = row["queue_due_at"]
    raw = json.dumps([row["queue_rank"], due.isoformat() if due else None, row["id"]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        prio, due, ident = json.loads(raw)
        prio, ident = int(prio), int(ident)
        when = datetime.fromisoformat(due) if due else None
    except (ValueError, TypeError) as exc:
        raise ValueError("bad cursor") from exc
    if not 0 <= prio <= 5 or not 0 <= ident < 2**63 or (when is not None and when.tzinfo is None):
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
    if q.priorities:
        # As ranks, which name exactly one priority each: the (department|district,
        # queue_rank, due, id) indexes then narrow to them without the table (one
        # priority of P3/P4 is one rank: equality, index order).
        wanted = sorted({r for p in q.priorities for r in ranks(p)})
        if len(wanted) == 1:
            clauses.append(f"t.queue_rank = {param(wanted[0])}")
        else:
            clauses.append(f"t.queue_rank = ANY({param(wanted)}::smallint[])")
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
            page_clauses.append(f"(t.queue_rank > {p} OR (t.queue_rank = {p}"
                                f" AND t.queue_due_at IS NULL AND t.id > {i}))")
        else:
            page_params.append(due)
            d = f"${n + 3}"
            page_clauses.append(f"((t.queue_rank, t.queue_due_at, t.id) > ({p}, {d}, {i})"
                                f" OR (t.queue_rank = {p} AND t.queue_due_at IS NULL))")
    # The page is chosen on the tickets table alone (one index range), then its
    # rows are read with their joins by id. One statement would do both, but
    # with parameters Postgres plans it afresh on every request, and planning
    # the joins (with the routing rules' lookups) costs several times running
    # them; the read by id reuses one plan.
    keys = await conn.execute_query_dict(
        f"SELECT t.id, t.queue_rank, t.queue_due_at FROM tickets t"
        f" WHERE {' AND '.join(page_clauses) or 'true'}"
        f" ORDER BY t.queue_rank, t.queue_due_at, t.id LIMIT {q.limit + 1}", page_params)
    more = len(keys) > q.limit
    keys = keys[:q.limit]
    by_id = {r["id"]: r for r in await conn.execute_query_dict(
        VIEW_SQL + " WHERE t.id = ANY($1::bigint[])", [[k["id"] for k in keys]])}
    now = datetime.now(UTC)
    return {"items": [ticket_json(by_id[k["id"]], now) for k in keys],
            "total": min(total, TOTAL_CAP), "total_capped": total > TOTAL_CAP,
            "next_cursor": encode_cursor(keys[-1]) if more and keys else None}
