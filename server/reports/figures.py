"""Every figure of a report, computed in Postgres.

Tickets are scanned twice for any period: once for counts (one GROUPING SETS
query: channel, category, department, district, weekday x hour, trend bucket,
112 close reasons) and once for SLA compliance and response-time percentiles
(GROUPING SETS by department and by priority). Alarms and staffing are small.
Times are bucketed in Asia/Jakarta (`AT TIME ZONE`), so a Sunday 23:30 call is
counted on Sunday at 23h whatever the server's zone.

SLA: a deadline is *met* when the ticket was acknowledged (resolved) by its due
time, *missed* when it was done late or is still not done and the due time has
passed at `as_of` (the time the report is made, so a report of a past week can
still change while its tickets are open). Tickets without a due time, rejected
and merged tickets are outside the SLA figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.models import SHIFT_ROLES
from server.reports.periods import TIMEZONE, Period

NOT_EMERGENCY = ("prank", "information", "wrong_number", "duplicate")

_COUNTS = """
WITH base AS (
    SELECT channel, category_id, department_id, district_id, close_reason,
           extract(isodow FROM created_at AT TIME ZONE $3)::int AS dow,
           extract(hour FROM created_at AT TIME ZONE $3)::int AS hour,
           date_trunc($4, created_at AT TIME ZONE $3)::date AS bucket
    FROM tickets
    WHERE created_at >= $1 AND created_at < $2
)
SELECT GROUPING(channel, close_reason, category_id, department_id, district_id,
                dow, hour, bucket) AS g,
       channel, close_reason, category_id, department_id, district_id, dow, hour, bucket,
       count(*) AS n
FROM base
GROUP BY GROUPING SETS ((channel), (channel, close_reason), (category_id), (department_id),
                        (district_id), (dow, hour), (bucket), ())
"""

# Bit masks of GROUPING(...) above: a set's columns are 0, the others 1.
_ALL = 0b11111111
_SETS = {
    "channel": _ALL ^ 0b10000000,
    "channel_reason": _ALL ^ 0b11000000,
    "category": _ALL ^ 0b00100000,
    "department": _ALL ^ 0b00010000,
    "district": _ALL ^ 0b00001000,
    "heatmap": _ALL ^ 0b00000110,
    "trend": _ALL ^ 0b00000001,
    "total": _ALL,
}

_SLA = """
WITH base AS (
    SELECT department_id, priority, ack_due_at, resolve_due_at, acknowledged_at, resolved_at,
           extract(epoch FROM acknowledged_at - created_at) AS ack_s,
           extract(epoch FROM resolved_at - created_at) AS resolve_s
    FROM tickets
    WHERE created_at >= $1 AND created_at < $2 AND status NOT IN ('rejected', 'merged')
)
SELECT GROUPING(department_id, priority) AS g, department_id, priority,
       count(*) AS n,
       count(*) FILTER (WHERE acknowledged_at <= ack_due_at) AS ack_met,
       count(*) FILTER (WHERE acknowledged_at > ack_due_at
                           OR (acknowledged_at IS NULL AND ack_due_at < $3)) AS ack_missed,
       count(*) FILTER (WHERE resolved_at <= resolve_due_at) AS resolve_met,
       count(*) FILTER (WHERE resolved_at > resolve_due_at
                           OR (resolved_at IS NULL AND resolve_due_at < $3)) AS resolve_missed,
       count(ack_s) AS acknowledged, count(resolve_s) AS resolved,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ack_s) AS ack_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY ack_s) AS ack_p90,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY resolve_s) AS resolve_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY resolve_s) AS resolve_p90
FROM base
GROUP BY GROUPING SETS ((department_id), (priority), ())
"""

_ALARMS = """
SELECT count(*) AS raised,
       count(acknowledged_at) AS acknowledged,
       count(dispatched_at) AS dispatched,
       count(*) FILTER (WHERE status = 'false_alarm') AS false_alarms,
       count(*) FILTER (WHERE escalation_level > 0) AS escalated,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - raised_at))
           AS ack_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - raised_at))
           AS ack_p90,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - raised_at))
           AS dispatch_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - raised_at))
           AS dispatch_p90
FROM panic_alarms
WHERE raised_at >= $1 AND raised_at < $2
"""

# Per shift template and role: how many shifts (and how many were worked, i.e.
# opened), the minimum, rostered and attended (checked in) on average, and on how
# many shifts the roster or, for worked shifts, attendance fell short.
_STAFFING = """
WITH per_shift AS (
    SELECT s.id, s.status, t.code, t.starts_at, r.role, r.ord,
           COALESCE(m.minimum, 0) AS minimum,
           count(a.id) AS rostered, count(a.checked_in_at) AS attended
    FROM shifts s
    JOIN shift_templates t ON t.id = s.template_id
    CROSS JOIN unnest($3::text[]) WITH ORDINALITY AS r(role, ord)
    LEFT JOIN staffing_minimums m ON m.template_id = t.id AND m.role = r.role
    LEFT JOIN shift_assignments a ON a.shift_id = s.id AND a.role = r.role
    WHERE s.day >= $1 AND s.day < $2
    GROUP BY s.id, s.status, t.code, t.starts_at, r.role, r.ord, m.minimum
)
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


async def _names(conn: BaseDBAsyncClient) -> dict[str, dict[int, tuple[str, str]]]:
    out: dict[str, dict[int, tuple[str, str]]] = {}
    for kind, sql in (("category", "SELECT id, name, name_en FROM categories"),
                      ("department", "SELECT id, code || ' ' || name AS name,"
                                     " code || ' ' || name_en AS name_en FROM departments"),
                      ("district", "SELECT id, name, name AS name_en FROM districts")):
        rows = await conn.execute_query_dict(sql, [])
        out[kind] = {r["id"]: (r["name"], r["name_en"] or r["name"]) for r in rows}
    return out


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _num(v: Any) -> float | None:
    return None if v is None else round(float(v), 1)


async def compute(conn: BaseDBAsyncClient, period: Period,
                  as_of: datetime | None = None) -> Figures:
    """All figures for `period`, SLA judged as of `as_of` (default: now)."""
    as_of = as_of or datetime.now(UTC)
    names = await _names(conn)
    counts = await conn.execute_query_dict(
        _COUNTS, [period.start, period.end, TIMEZONE, period.bucket])
    by_set: dict[str, list[dict[str, Any]]] = {k: [] for k in _SETS}
    inverse = {v: k for k, v in _SETS.items()}
    for r in counts:
        by_set[inverse[r["g"]]].append(r)
    total = by_set["total"][0]["n"] if by_set["total"] else 0

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
    for r in by_set["heatmap"]:
        heatmap[r["dow"] - 1][r["hour"]] = r["n"]
    tables["heatmap"] = Table(["weekday", *[f"h{h:02d}" for h in range(24)]],
                              [{"weekday": d + 1, **{f"h{h:02d}": heatmap[d][h]
                                                     for h in range(24)}} for d in range(7)])
    tables["trend"] = Table(["bucket", "tickets"], [
        {"bucket": r["bucket"].isoformat(), "tickets": r["n"]}
        for r in sorted(by_set["trend"], key=lambda r: r["bucket"])])

    reasons = [r for r in by_set["channel_reason"] if r["channel"] == "call112"]
    calls = sum(r["n"] for r in reasons)
    not_emergency = sum(r["n"] for r in reasons if r["close_reason"] in NOT_EMERGENCY)
    tables["calls112"] = Table(["close_reason", "calls", "share"], [
        {"close_reason": r["close_reason"] or "-", "calls": r["n"],
         "share": _share(r["n"], calls)}
        for r in sorted(reasons, key=lambda r: (-r["n"], r["close_reason"]))])

    sla = await conn.execute_query_dict(_SLA, [period.start, period.end, as_of])
    sla_cols = ["tickets", "ack_met", "ack_missed", "ack_compliance", "resolve_met",
                "resolve_missed", "resolve_compliance"]
    time_cols = ["acknowledged", "ack_p50_min", "ack_p90_min", "resolved",
                 "resolve_p50_h", "resolve_p90_h"]

    def sla_row(r: dict[str, Any]) -> dict[str, Any]:
        return {"tickets": r["n"], "ack_met": r["ack_met"], "ack_missed": r["ack_missed"],
                "ack_compliance": _share(r["ack_met"], r["ack_met"] + r["ack_missed"]),
                "resolve_met": r["resolve_met"], "resolve_missed": r["resolve_missed"],
                "resolve_compliance": _share(r["resolve_met"],
                                             r["resolve_met"] + r["resolve_missed"])}

    def time_row(r: dict[str, Any]) -> dict[str, Any]:
        def scaled(v: Any, unit: float) -> float | None:
            return None if v is None else round(float(v) / unit, 1)

        return {"acknowledged": r["acknowledged"], "ack_p50_min": scaled(r["ack_p50"], 60),
                "ack_p90_min": scaled(r["ack_p90"], 60), "resolved": r["resolved"],
                "resolve_p50_h": scaled(r["resolve_p50"], 3600),
                "resolve_p90_h": scaled(r["resolve_p90"], 3600)}

    dept_rows = sorted((r for r in sla if r["g"] == 0b01),
                       key=lambda r: (r["department_id"] is None, -r["n"]))
    prio_rows = sorted((r for r in sla if r["g"] == 0b10), key=lambda r: r["priority"])
    overall = next((r for r in sla if r["g"] == 0b11), None)
    tables["sla_departments"] = Table(
        ["department_id", *sla_cols],
        [{"department_id": r["department_id"], **sla_row(r)} for r in dept_rows]
        + ([{"department_id": "all", **sla_row(overall)}] if overall else []))
    tables["response_times"] = Table(
        ["priority", *time_cols],
        [{"priority": f"P{r['priority']}", **time_row(r)} for r in prio_rows]
        + ([{"priority": "all", **time_row(overall)}] if overall else []))

    alarms = (await conn.execute_query_dict(_ALARMS, [period.start, period.end]))[0]
    tables["alarms"] = Table(["measure", "value"], [
        {"measure": k, "value": _num(alarms[k]) if k.endswith(("p50", "p90")) else alarms[k]}
        for k in ("raised", "acknowledged", "dispatched", "false_alarms", "escalated",
                  "ack_p50", "ack_p90", "dispatch_p50", "dispatch_p90")])

    staffing = await conn.execute_query_dict(
        _STAFFING, [period.first_day, period.end_day, list(SHIFT_ROLES)])
    tables["staffing"] = Table(["template", "role", "shifts", "worked", "minimum", "avg_rostered",
                                "avg_attended", "short_rostered", "short_attended"],
                               staffing)

    busiest = max(((heatmap[d][h], d, h) for d in range(7) for h in range(24)), default=None)
    totals = {
        "tickets": total,
        "calls112": calls,
        "calls112_not_emergency": not_emergency,
        "calls112_not_emergency_share": _share(not_emergency, calls),
        "alarms": alarms["raised"],
        "alarm_ack_p50_s": _num(alarms["ack_p50"]),
        "ack_compliance": sla_row(overall)["ack_compliance"] if overall else None,
        "resolve_compliance": sla_row(overall)["resolve_compliance"] if overall else None,
        "ack_p50_min": time_row(overall)["ack_p50_min"] if overall else None,
        "resolve_p50_h": time_row(overall)["resolve_p50_h"] if overall else None,
        "busiest": ({"weekday": busiest[1] + 1, "hour": busiest[2], "tickets": busiest[0]}
                    if busiest and busiest[0] else None),
        "short_shift_roles": sum(r["short_attended"] for r in staffing),
    }
    return Figures(period, as_of, totals, tables, heatmap, names)
