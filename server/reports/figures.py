"""Every figure of a report, computed in Postgres.

Tickets are scanned three times for any period, each a single aggregate:
1. a cube by (channel, close reason, category, department, district) with the
   SLA counts, rolled up with GROUPING SETS into the volume tables, the 112
   close reasons and SLA compliance per department: the scan groups on one hash
   key, the grouping sets then work on a few thousand rows instead of a million;
2. counts per local hour, rolled up into the weekday x hour heatmap and the
   daily trend (monthly for a year);
3. response-time percentiles (percentile_cont, one sort per measure and set)
   per priority and overall, over the tickets that were acknowledged or resolved.
All see one snapshot (a REPEATABLE READ, READ ONLY lead transaction exports it and
the three scans, run at once on their own connections, import it) so the figures
agree with each other; work_mem is raised so the percentile sorts stay in memory.

Local time: Asia/Jakarta has had a fixed offset (+07:00) since 1964, so when the
offset is constant over the period the local hour is computed with integer
arithmetic on the epoch (cheap); otherwise with AT TIME ZONE (exact, slower).

SLA, judged as server/tickets/sla.py judges it, from the ticket row: the
acknowledge deadline is met by acknowledging in time; the second deadline is
met by dispatch (status in_progress) for emergencies (P1, P2) and by resolution
for complaints. A deadline is *missed* when the SLA scheduler marked it breached
(ack_breached_at / resolve_breached_at), when it was met late, or when it is
still running and has passed at `as_of` (the time the report is made, so a past
week's figures can still change while its tickets are open). Tickets that never
needed the deadline (a 112 call closed as no emergency, a rejected or merged
ticket, one without due times) are neither met nor missed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from db.models import SHIFT_ROLES
from server.reports.periods import JAKARTA, TIMEZONE, Period

NOT_EMERGENCY = ("prank", "information", "wrong_number", "duplicate")
WORK_MEM = "64MB"

# SQL conditions on a tickets row, shared with the shift handover (server/shifts);
# $3 is the moment the SLA is judged at.
SLA_EXPR = "status NOT IN ('rejected', 'merged')"
ACK_MET = "(acknowledged_at <= ack_due_at AND ack_breached_at IS NULL)"
ACK_MISSED = ("(ack_breached_at IS NOT NULL OR acknowledged_at > ack_due_at"
               " OR (acknowledged_at IS NULL AND status IN ('new', 'triaged', 'routed')"
               " AND ack_due_at < $3))")
RESOLVE_MET = ("(resolve_breached_at IS NULL AND ((priority > 2 AND resolved_at <= resolve_due_at)"
                " OR (priority <= 2 AND resolve_due_at IS NOT NULL AND acknowledged_at IS NOT NULL"
                " AND status IN ('in_progress', 'resolved', 'closed'))))")
RESOLVE_MISSED = ("(resolve_breached_at IS NOT NULL"
                   " OR (priority > 2 AND resolved_at > resolve_due_at)"
                   " OR (resolve_due_at < $3 AND (status IN ('new', 'triaged', 'routed',"
                   " 'acknowledged') OR (status = 'in_progress' AND priority > 2))))")
_CUBE = f"""
WITH cube AS (
    SELECT channel, close_reason, category_id, department_id, district_id,
           count(*) AS n,
           count(*) FILTER (WHERE {SLA_EXPR}) AS sla_n,
           count(*) FILTER (WHERE {SLA_EXPR} AND {ACK_MET}) AS ack_met,
           count(*) FILTER (WHERE {SLA_EXPR} AND {ACK_MISSED}) AS ack_missed,
           count(*) FILTER (WHERE {SLA_EXPR} AND {RESOLVE_MET}) AS resolve_met,
           count(*) FILTER (WHERE {SLA_EXPR} AND {RESOLVE_MISSED}) AS resolve_missed
    FROM tickets
    WHERE created_at >= $1 AND created_at < $2
    GROUP BY channel, close_reason, category_id, department_id, district_id
)
SELECT GROUPING(channel, close_reason, category_id, department_id, district_id) AS g,
       channel, close_reason, category_id, department_id, district_id,
       sum(n)::bigint AS n, sum(sla_n)::bigint AS sla_n,
       sum(ack_met)::bigint AS ack_met, sum(ack_missed)::bigint AS ack_missed,
       sum(resolve_met)::bigint AS resolve_met, sum(resolve_missed)::bigint AS resolve_missed
FROM cube
GROUP BY GROUPING SETS ((channel), (channel, close_reason), (category_id), (department_id),
                        (district_id), ())
"""

# GROUPING(...) bit masks above: a set's own columns are 0 bits.
_SETS = {0b01111: "channel", 0b00111: "channel_reason", 0b11011: "category",
         0b11101: "department", 0b11110: "district", 0b11111: "total"}

_HOURS = """
SELECT GROUPING(dow, hour, day) AS g, dow, hour, day, sum(n)::bigint AS n
FROM (SELECT h, count(*) AS n
      FROM (SELECT ({local}) / 3600 AS h FROM tickets
            WHERE created_at >= $1 AND created_at < $2) AS s
      GROUP BY h) AS x
CROSS JOIN LATERAL (SELECT ((h / 24 + 3) % 7 + 1)::int AS dow, (h % 24)::int AS hour,
                           (h / 24)::int AS day) AS l
GROUP BY GROUPING SETS ((dow, hour), (day))
"""
# Local seconds since 1970-01-01 00:00 local; day 0 was a Thursday (ISO weekday 4).
_LOCAL_FIXED = "floor(date_part('epoch', created_at))::bigint + $3"
_LOCAL_ZONE = "floor(date_part('epoch', created_at AT TIME ZONE $3))::bigint"

_TIMES = f"""
SELECT GROUPING(priority) AS g, priority,
       count(ack_s) AS acknowledged, count(resolve_s) AS resolved,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY ack_s) AS ack_p,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY resolve_s) AS resolve_p
FROM (SELECT priority,
             date_part('epoch', acknowledged_at - created_at) AS ack_s,
             date_part('epoch', resolved_at - created_at) AS resolve_s
      FROM tickets
      WHERE created_at >= $1 AND created_at < $2 AND {SLA_EXPR}
        AND (acknowledged_at IS NOT NULL OR resolved_at IS NOT NULL)) AS b
GROUP BY GROUPING SETS ((priority), ())
"""

_ALARMS = """
SELECT count(*) AS raised,
       count(acknowledged_at) AS acknowledged,
       count(dispatched_at) AS dispatched,
       count(*) FILTER (WHERE status = 'false_alarm') AS false_alarms,
       count(*) FILTER (WHERE escalation_level > 0) AS escalated,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', acknowledged_at - raised_at))
           AS ack_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', acknowledged_at - raised_at))
           AS ack_p90,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', dispatched_at - raised_at))
           AS dispatch_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', dispatched_at - raised_at))
           AS dispatch_p90
FROM panic_alarms
WHERE raised_at >= $1 AND raised_at < $2
"""

_PER_SHIFT = """
WITH per_shift AS (
    SELECT s.id, s.day, s.status, t.code, t.starts_at, r.role, r.ord,
           COALESCE(m.minimum, 0) AS minimum,
           count(a.id) AS rostered, count(a.checked_in_at) AS attended
    FROM shifts s
    JOIN shift_templates t ON t.id = s.template_id
    CROSS JOIN unnest($3::text[]) WITH ORDINALITY AS r(role, ord)
    LEFT JOIN staffing_minimums m ON m.template_id = t.id AND m.role = r.role
    LEFT JOIN shift_assignments a ON a.shift_id = s.id AND a.role = r.role
    WHERE s.day >= $1 AND s.day < $2
    GROUP BY s.id, s.day, s.status, t.code, t.starts_at, r.role, r.ord, m.minimum
)
"""

# Per shift template and role: how many shifts (and how many were worked, i.e.
# opened), the minimum, rostered and attended (checked in) on average, and on how
# many shifts the roster or, for worked shifts, attendance fell short.
_STAFFING = _PER_SHIFT + """
SELECT code AS template, role, count(*) AS shifts,
       count(*) FILTER (WHERE status <> 'planned') AS worked, max(minimum) AS minimum,
       round(avg(rostered), 1)::float AS avg_rostered,
       round(avg(attended), 1)::float AS avg_attended,
       count(*) FILTER (WHERE rostered < minimum) AS short_rostered,
       count(*) FILTER (WHERE attended < minimum AND status <> 'planned') AS short_attended
FROM per_shift
GROUP BY code, starts_at, role, ord
ORDER BY starts_at, ord
"""

# Each shift of the period: its totals against the minimums, and the roles short.
_STAFFING_SHIFTS = _PER_SHIFT + """
SELECT day, code AS template, status, sum(minimum)::int AS minimum,
       sum(rostered)::int AS rostered, sum(attended)::int AS attended,
       COALESCE(string_agg(role, ' ' ORDER BY ord)
                FILTER (WHERE attended < minimum AND status <> 'planned'), '') AS short_roles
FROM per_shift
GROUP BY id, day, code, starts_at, status
ORDER BY day, starts_at
"""


@dataclass
class Table:
    """Rows of one report table; `columns` are keys into each row (and i18n labels)."""

    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Figures:
    period: Period
    as_of: datetime
    totals: dict[str, Any]
    tables: dict[str, Table]
    heatmap: list[list[int]]  # [weekday 0=Monday][hour]
    names: dict[str, dict[int, tuple[str, str]]]  # kind -> id -> (name_id, name_en)


_NAMES = {"category": "SELECT id, name, name_en FROM categories",
          "department": "SELECT id, code || ' ' || name AS name,"
                        " code || ' ' || name_en AS name_en FROM departments",
          "district": "SELECT id, name, name AS name_en FROM districts"}


def _fixed_offset(period: Period) -> int | None:
    """The zone's UTC offset in seconds if it is the same at every local midnight of
    the period (and its end), else None."""
    offsets = {datetime.combine(period.first_day + timedelta(days=d), datetime.min.time(),
                                JAKARTA).utcoffset()
               for d in range((period.end_day - period.first_day).days + 1)}
    if len(offsets) != 1:
        return None
    only = offsets.pop()
    return None if only is None else int(only.total_seconds())


Rows = list[dict[str, Any]]


async def _fetch(conn: Any, sql: str, params: list[Any]) -> Rows:
    return [dict(r) for r in await conn.fetch(sql, *params)]


async def _in_snapshot(client: BaseDBAsyncClient, snapshot: str, sql: str,
                       params: list[Any]) -> Rows:
    """One query on its own connection, seeing exactly the lead transaction's data."""
    async with client.acquire_connection() as conn, conn.transaction(
            isolation="repeatable_read", readonly=True):
        await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        await conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        return await _fetch(conn, sql, params)


async def compute(period: Period, as_of: datetime | None = None, *,
                  concurrent: bool = True, zone_arithmetic: bool = True) -> Figures:
    """All figures for `period`, SLA judged as of `as_of` (default: now).

    The three scans of tickets are independent, so by default each runs on its own
    connection at the same time (Postgres spreads them over the cores), all in the
    lead transaction's exported snapshot so the figures still agree. Needs four
    pooled connections; `concurrent=False` runs everything on one.
    `zone_arithmetic=False` always converts with AT TIME ZONE instead of adding the
    period's fixed UTC offset (the slower path the fast one must agree with).
    """
    as_of = as_of or datetime.now(UTC)
    offset = _fixed_offset(period) if zone_arithmetic else None
    hours_sql = _HOURS.format(local=_LOCAL_FIXED if offset is not None else _LOCAL_ZONE)
    heavy: list[tuple[str, list[Any]]] = [(_CUBE, [period.start, period.end, as_of]),
             (hours_sql, [period.start, period.end, offset if offset is not None else TIMEZONE]),
             (_TIMES, [period.start, period.end])]
    light: list[tuple[str, list[Any]]] = [(_ALARMS, [period.start, period.end]),
             (_STAFFING, [period.first_day, period.end_day, list(SHIFT_ROLES)]),
             (_STAFFING_SHIFTS, [period.first_day, period.end_day, list(SHIFT_ROLES)]),
             *[(sql, []) for sql in _NAMES.values()]]
    client = connections.get("default")
    async with client.acquire_connection() as lead, lead.transaction(
            isolation="repeatable_read", readonly=True):
        await lead.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        if concurrent:
            snapshot = await lead.fetchval("SELECT pg_export_snapshot()")
            heavy_rows = list(await asyncio.gather(
                *(_in_snapshot(client, snapshot, sql, params) for sql, params in heavy)))
        else:
            heavy_rows = [await _fetch(lead, sql, params) for sql, params in heavy]
        light_rows = [await _fetch(lead, sql, params) for sql, params in light]
    cube, hours, times = heavy_rows
    alarms, staffing, per_shift, *name_rows = light_rows
    names = {kind: {r["id"]: (r["name"], r["name_en"] or r["name"]) for r in rows}
             for kind, rows in zip(_NAMES, name_rows, strict=True)}
    return _assemble(period, as_of, names, cube, hours, times, alarms[0], staffing, per_shift)


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _num(v: Any) -> float | None:
    return None if v is None else round(float(v), 1)


def _sla_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"tickets": r["sla_n"], "ack_met": r["ack_met"], "ack_missed": r["ack_missed"],
            "ack_compliance": _share(r["ack_met"], r["ack_met"] + r["ack_missed"]),
            "resolve_met": r["resolve_met"], "resolve_missed": r["resolve_missed"],
            "resolve_compliance": _share(r["resolve_met"],
                                         r["resolve_met"] + r["resolve_missed"])}


def _time_row(r: dict[str, Any]) -> dict[str, Any]:
    def scaled(values: list[float] | None, i: int, unit: float) -> float | None:
        return None if not values or values[i] is None else round(values[i] / unit, 1)

    return {"acknowledged": r["acknowledged"], "ack_p50_min": scaled(r["ack_p"], 0, 60),
            "ack_p90_min": scaled(r["ack_p"], 1, 60), "resolved": r["resolved"],
            "resolve_p50_h": scaled(r["resolve_p"], 0, 3600),
            "resolve_p90_h": scaled(r["resolve_p"], 1, 3600)}


SLA_COLUMNS = ["tickets", "ack_met", "ack_missed", "ack_compliance", "resolve_met",
               "resolve_missed", "resolve_compliance"]
TIME_COLUMNS = ["acknowledged", "ack_p50_min", "ack_p90_min", "resolved",
                "resolve_p50_h", "resolve_p90_h"]


def _assemble(period: Period, as_of: datetime, names: dict[str, dict[int, tuple[str, str]]],
              cube: Rows, hours: Rows, times: Rows, alarms: dict[str, Any], staffing: Rows,
              per_shift: Rows) -> Figures:
    """The tables and totals from the query results (a few thousand rows at most)."""
    by_set: dict[str, list[dict[str, Any]]] = {k: [] for k in _SETS.values()}
    for r in cube:
        by_set[_SETS[r["g"]]].append(r)
    # The empty grouping set () answers one row even over no tickets, with NULL
    # sums: a period with no tickets has no overall row, and its total is 0.
    overall = next((r for r in by_set["total"] if r["n"]), None)
    total = overall["n"] if overall else 0

    def volume(key: str, column: str) -> Table:
        rows = sorted(by_set[key], key=lambda r: (-r["n"], str(r[column])))
        return Table([column, "tickets", "share"],
                     [{column: r[column], "tickets": r["n"], "share": _share(r["n"], total)}
                      for r in rows])

    tables: dict[str, Table] = {
        "channels": volume("channel", "channel"),
        "categories": volume("category", "category_id"),
        "departments": volume("department", "department_id"),
        "districts": volume("district", "district_id"),
    }

    heatmap = [[0] * 24 for _ in range(7)]
    days: list[tuple[date, int]] = []
    epoch = date(1970, 1, 1)
    for r in hours:
        if r["g"] == 0b001:
            heatmap[r["dow"] - 1][r["hour"]] = r["n"]
        else:
            days.append((epoch + timedelta(days=r["day"]), r["n"]))
    # A year's trend is by month: at most 366 daily sums folded into 12.
    trend: dict[date, int] = {}
    for day, n in sorted(days):
        key = day.replace(day=1) if period.bucket == "month" else day
        trend[key] = trend.get(key, 0) + n
    tables["heatmap"] = Table(["weekday", *[f"h{h:02d}" for h in range(24)]],
                              [{"weekday": d + 1, **{f"h{h:02d}": heatmap[d][h]
                                                     for h in range(24)}} for d in range(7)])
    tables["trend"] = Table(["bucket", "tickets"], [
        {"bucket": k.isoformat(), "tickets": n} for k, n in trend.items()])

    reasons = [r for r in by_set["channel_reason"] if r["channel"] == "call112"]
    calls = sum(r["n"] for r in reasons)
    not_emergency = sum(r["n"] for r in reasons if r["close_reason"] in NOT_EMERGENCY)
    tables["calls112"] = Table(["close_reason", "calls", "share"], [
        {"close_reason": r["close_reason"] or "-", "calls": r["n"],
         "share": _share(r["n"], calls)}
        for r in sorted(reasons, key=lambda r: (-r["n"], r["close_reason"]))])

    dept_rows = sorted((r for r in by_set["department"] if r["sla_n"]),
                       key=lambda r: (r["department_id"] is None, -r["sla_n"]))
    tables["sla_departments"] = Table(
        ["department_id", *SLA_COLUMNS],
        [{"department_id": r["department_id"], **_sla_row(r)} for r in dept_rows]
        + ([{"department_id": "all", **_sla_row(overall)}] if overall else []))

    prio_rows = sorted((r for r in times if r["g"] == 0), key=lambda r: r["priority"])
    all_times = next((r for r in times if r["g"] == 1 and (r["acknowledged"]
                                                            or r["resolved"])), None)
    tables["response_times"] = Table(
        ["priority", *TIME_COLUMNS],
        [{"priority": f"P{r['priority']}", **_time_row(r)} for r in prio_rows]
        + ([{"priority": "all", **_time_row(all_times)}] if all_times else []))

    tables["alarms"] = Table(["measure", "value"], [
        {"measure": k, "value": _num(alarms[k]) if k.endswith(("p50", "p90")) else alarms[k]}
        for k in ("raised", "acknowledged", "dispatched", "false_alarms", "escalated",
                  "ack_p50", "ack_p90", "dispatch_p50", "dispatch_p90")])

    tables["staffing"] = Table(["template", "role", "shifts", "worked", "minimum",
                                "avg_rostered", "avg_attended", "short_rostered",
                                "short_attended"], staffing)
    tables["staffing_shifts"] = Table(
        ["day", "template", "status", "minimum", "rostered", "attended", "short_roles"],
        [{**r, "day": r["day"].isoformat()} for r in per_shift])

    busiest = max(((heatmap[d][h], d, h) for d in range(7) for h in range(24)), default=None)
    sla_all = _sla_row(overall) if overall else {}
    times_all = _time_row(all_times) if all_times else {}
    totals = {
        "tickets": total,
        "calls112": calls,
        "calls112_not_emergency": not_emergency,
        "calls112_not_emergency_share": _share(not_emergency, calls),
        "alarms": alarms["raised"],
        "alarm_ack_p50_s": _num(alarms["ack_p50"]),
        "ack_compliance": sla_all.get("ack_compliance"),
        "resolve_compliance": sla_all.get("resolve_compliance"),
        "ack_p50_min": times_all.get("ack_p50_min"),
        "resolve_p50_h": times_all.get("resolve_p50_h"),
        "busiest": ({"weekday": busiest[1] + 1, "hour": busiest[2], "tickets": busiest[0]}
                    if busiest and busiest[0] else None),
        "short_shift_roles": sum(r["short_attended"] for r in staffing),
    }
    return Figures(period, as_of, totals, tables, heatmap, names)
