"""The state of the whole room at a glance, for the terminal operations wall.

One read-only summary a wall display may see: queue counters, the SLA board per
department, open panic alarms and the shift's staffing. Aggregated in SQL so it
stays cheap with a large queue, and free of reporters' personal data (a wall
gets it through server/events/visibility.py). Also the wall page's strip
(`wall_summary`); a resync frame carries both (server/events/snapshot.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise import connections

from server.alarms.lifecycle import list_alarms
from server.events import visibility
from server.shifts.views import current
from server.tickets.sla import ACK_RUNNING_SQL, RESOLVE_RUNNING_SQL, state_sql

_OPEN = "t.status IN ('new','triaged','routed','acknowledged','in_progress')"

_COUNTS = f"""
SELECT t.priority, t.status, count(*) AS n
FROM tickets t WHERE {_OPEN}
GROUP BY GROUPING SETS ((t.priority), (t.status))
"""

_OLDEST_UNROUTED = """
SELECT t.reference, t.priority, t.created_at FROM tickets t
WHERE t.status IN ('new', 'triaged') ORDER BY t.created_at LIMIT 1
"""

# Due within the hour: a running deadline in (now, now + 1 h], not yet breached.
_DUE_HOUR = (f"(({ACK_RUNNING_SQL} AND t.ack_due_at > now() AND t.ack_due_at <= now() + "
             f"interval '1 hour') OR ({RESOLVE_RUNNING_SQL} AND t.resolve_due_at > now() AND "
             f"t.resolve_due_at <= now() + interval '1 hour'))")

_SLA_BOARD = f"""
SELECT d.code, d.name, d.name_en,
       count(t.id) AS open,
       count(t.id) FILTER (WHERE {state_sql('breached')}) AS overdue,
       count(t.id) FILTER (WHERE t.sla_paused_at IS NULL AND NOT {state_sql('breached')}
                           AND {_DUE_HOUR}) AS due_within_hour
FROM departments d
LEFT JOIN tickets t ON t.department_id = d.id AND {_OPEN}
WHERE d.active
GROUP BY d.id
ORDER BY overdue DESC, due_within_hour DESC, open DESC, d.code
"""


async def board() -> dict[str, Any]:
    """The summary the terminal wall draws; see the module docstring."""
    conn = connections.get("default")
    now = datetime.now(UTC)
    by_priority = {str(p): 0 for p in (1, 2, 3, 4)}
    by_status = {s: 0 for s in ("new", "triaged", "routed", "acknowledged", "in_progress")}
    for row in await conn.execute_query_dict(_COUNTS):
        if row["priority"] is not None:
            by_priority[str(row["priority"])] = int(row["n"])
        elif row["status"] is not None:
            by_status[row["status"]] = int(row["n"])
    oldest = await conn.execute_query_dict(_OLDEST_UNROUTED)
    sla = [{"code": r["code"], "name": r["name"], "name_en": r["name_en"],
            "open": int(r["open"]), "overdue": int(r["overdue"]),
            "due_within_hour": int(r["due_within_hour"])}
           for r in await conn.execute_query_dict(_SLA_BOARD)]
    shift = await current(now)
    return {
        "at": now.isoformat(),
        "queue": {
            "open": sum(by_status.values()),
            "by_priority": by_priority,
            "by_status": by_status,
            "oldest_unrouted": None if not oldest else {
                "reference": oldest[0]["reference"], "priority": oldest[0]["priority"],
                "created_at": oldest[0]["created_at"].isoformat(),
                "age_seconds": int((now - oldest[0]["created_at"]).total_seconds())},
        },
        "sla": sla,
        "alarms": await list_alarms(conn, include_closed=False, limit=50),
        "shift": {
            "id": shift["id"], "template": shift["template"], "name": shift.get("name"),
            "day": shift["day"], "status": shift["status"],
            "staffing": shift["staffing"], "shortfall": shift["shortfall"],
            "understaffed": shift["understaffed"],
            "handover_pending": bool(shift["incoming_handovers"]),
        },
    }


# Overdue as the SLA board and the queue judge it (sla.state_sql): a deadline
# still running and past, so a dispatched emergency is not counted.
_SUMMARY = f"""
SELECT
  count(*) FILTER (WHERE status NOT IN ('resolved','closed','rejected','merged')) AS open,
  count(*) FILTER (WHERE status = 'new') AS new,
  count(*) FILTER (WHERE status NOT IN ('resolved','closed','rejected','merged')
                   AND priority = 1) AS p1,
  count(*) FILTER (WHERE {state_sql('breached')}) AS overdue
FROM tickets t
"""


async def wall_summary(pool: Any) -> dict[str, Any]:
    """Queue counters, active alarms and the shift's staffing for the wall's strip,
    in the wall's view (server/events/visibility.py), for operators too: it is what the
    wall shows."""
    counts = await pool.fetchrow(_SUMMARY)
    alarms = await list_alarms(connections.get("default"), include_closed=False, limit=20)
    return visibility.wall_summary(
        {k: int(counts[k]) for k in ("open", "new", "p1", "overdue")}, alarms,
        await current())
