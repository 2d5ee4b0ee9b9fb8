"""Report figures against values computed by hand on a small fixed dataset, with
week and month boundaries in Asia/Jakarta (+07:00)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from db.vault import server_key
from server.reports import periods
from server.reports.figures import Figures, compute

WIB = timezone(timedelta(hours=7))
AS_OF = datetime(2026, 11, 28, 12, 0, tzinfo=WIB)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=WIB)


# reference, created (WIB), channel, close_reason, status, priority, category, dept,
# district, (ack_due, acknowledged, resolve_due, resolved) as offsets from created.
M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
TICKETS: list[tuple[Any, ...]] = [
    ("A", "2026-11-22 23:30", "call112", "prank", "closed", 1, 0, 0, 0, (15 * M, 5 * M, 30 * M,
                                                                         45 * M)),
    ("B", "2026-11-23 00:10", "call112", "", "resolved", 1, 0, 0, 0, (15 * M, 10 * M, 30 * M,
                                                                       50 * M)),
    ("C", "2026-11-17 09:05", "open311", "", "resolved", 3, 1, 1, 1, (3 * D, H, 8 * D, 2 * D)),
    ("D", "2026-11-18 09:40", "web", "", "routed", 3, 1, 1, 1, (3 * D, None, 8 * D, None)),
    ("E", "2026-11-30 23:59", "call112", "wrong_number", "closed", 2, 0, 0, 0,
     (15 * M, None, 30 * M, None)),
    ("F", "2026-12-01 00:01", "cctv", "", "new", 3, 1, 1, 1, None),
    ("G", "2026-11-16 00:00", "walk_in", "", "new", 4, 1, 1, 2, None),
    ("H", "2026-11-15 23:59", "open311", "", "new", 4, 1, 1, 2, None),
    ("R", "2026-11-19 14:20", "open311", "", "rejected", 3, 1, 1, 2, (3 * D, None, 8 * D, None)),
]


async def insert_dataset(url: str) -> dict[str, Any]:
    """Replace tickets, alarms and shifts with the fixed dataset above; returns the
    ids of the categories, departments and districts it uses."""
    conn = await asyncpg.connect(url)
    try:
        for table in ("alarm_notifications", "panic_alarms", "ticket_notes", "shift_handovers",
                      "shift_assignments", "shifts"):
            await conn.execute(f"DELETE FROM {table}")
        await conn.execute("UPDATE tickets SET merged_into_id = NULL")
        await conn.execute("DELETE FROM tickets")
        cats = [r["id"] for r in await conn.fetch("SELECT id FROM categories ORDER BY id LIMIT 2")]
        depts = [r["id"] for r in await conn.fetch(
            "SELECT id FROM departments ORDER BY id LIMIT 2")]
        dists = [r["id"] for r in await conn.fetch("SELECT id FROM districts ORDER BY id LIMIT 3")]
        for ref, created, channel, reason, status, prio, cat, dept, dist, sla in TICKETS:
            c = at(created)
            ack_due = ack = res_due = res = None
            if sla is not None:
                ack_due, ack, res_due, res = (c + x if x is not None else None for x in sla)
            await conn.execute(
                "INSERT INTO tickets (reference, channel, close_reason, status, priority,"
                " category_id, department_id, district_id, description, created_at,"
                " ack_due_at, acknowledged_at, resolve_due_at, resolved_at)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'x',$9,$10,$11,$12,$13)",
                ref, channel, reason, status, prio, cats[cat], depts[dept], dists[dist], c,
                ack_due, ack, res_due, res)
        # The SLA scheduler marked B's dispatch deadline breached a minute after it.
        await conn.execute("UPDATE tickets SET resolve_breached_at = resolve_due_at"
                           " + interval '1 minute' WHERE reference = 'B'")
        dev = await conn.fetchval(
            "INSERT INTO devices (code, owner_name, lat, lon, sealed_secret)"
            " VALUES ('warung-1', 'Warung', -6.9, 107.6, $1) RETURNING id",
            server_key().seal("s"))
        # Each alarm is linked to a ticket of the dataset, as every stored alarm is
        # linked to its P1 ticket: an unlinked one would get a new ticket from the
        # alarm timers of a server running on this database, during the test.
        for key, raised, ack_s, disp_s, status, ticket in [
                ("a1", "2026-11-18 10:00", 30, 120, "dispatched", "C"),
                ("a2", "2026-11-20 22:00", 90, None, "false_alarm", "R"),
                ("a3", "2026-11-23 00:05", 10, None, "acknowledged", "B")]:
            r = at(raised)
            await conn.execute(
                "INSERT INTO panic_alarms (device_id, idempotency_key, status, lat, lon,"
                " raised_at, acknowledged_at, dispatched_at, ticket_id)"
                " VALUES ($1,$2,$3,-6.9,107.6,$4,$5,$6,"
                " (SELECT id FROM tickets WHERE reference = $7))",
                dev, key, status, r, r + timedelta(seconds=ack_s),
                r + timedelta(seconds=disp_s) if disp_s else None, ticket)
        # Staffing: pagi on Sunday 22 Nov (W47) worked with a thin roster; malam on
        # Monday 23 Nov (W48) only planned.
        pagi = await conn.fetchval("SELECT id FROM shift_templates WHERE code = 'pagi'")
        malam = await conn.fetchval("SELECT id FROM shift_templates WHERE code = 'malam'")
        s1 = await conn.fetchval("INSERT INTO shifts (template_id, day, status) VALUES"
                                 " ($1, '2026-11-22', 'closed') RETURNING id", pagi)
        await conn.execute("INSERT INTO shifts (template_id, day) VALUES ($1, '2026-11-23')",
                           malam)
        people = {r["username"]: r["id"] for r in await conn.fetch(
            "SELECT id, username FROM people WHERE username IN"
            " ('spv.pagi', 'cc.pagi.01', 'cc.pagi.02')")}
        for username, role, checked_in in [("spv.pagi", "supervisor", True),
                                           ("cc.pagi.01", "call_center", True),
                                           ("cc.pagi.02", "call_center", False)]:
            await conn.execute(
                "INSERT INTO shift_assignments (shift_id, person_id, role, checked_in_at)"
                " VALUES ($1, $2, $3, $4)", s1, people[username], role,
                at("2026-11-22 06:50") if checked_in else None)
    finally:
        await conn.close()
    return {"categories": cats, "departments": depts, "districts": dists}


@pytest.fixture
async def dataset(orm: str) -> dict[str, Any]:
    return await insert_dataset(orm)


async def _figures(kind: str, label: str) -> Figures:
    return await compute(periods.parse(kind, label), AS_OF)


def _col(fig: Figures, table: str, key: str, value_col: str) -> dict[Any, Any]:
    return {r[key]: r[value_col] for r in fig.tables[table].rows}


async def test_week_boundaries_are_jakarta_midnight(dataset: dict[str, Any]) -> None:
    w47 = await _figures("weekly", "2026-W47")
    assert w47.totals["tickets"] == 5  # A (Sun 23:30), C, D, G (Mon 00:00), R
    assert _col(w47, "channels", "channel", "tickets") == {
        "open311": 2, "call112": 1, "web": 1, "walk_in": 1}
    w48 = await _figures("weekly", "2026-W48")
    assert w48.totals["tickets"] == 1  # B (Mon 00:10); E is Mon 30 Nov, W49
    w46 = await _figures("weekly", "2026-W46")
    assert w46.totals["tickets"] == 1  # H at Sun 15 Nov 23:59


async def test_month_and_year_boundaries(dataset: dict[str, Any]) -> None:
    nov = await _figures("monthly", "2026-11")
    assert nov.totals["tickets"] == 8  # all but F (1 Dec 00:01 WIB, 30 Nov 17:01 UTC)
    dec = await _figures("monthly", "2026-12")
    assert dec.totals["tickets"] == 1
    year = await _figures("yearly", "2026")
    assert year.totals["tickets"] == 9
    assert [(r["bucket"], r["tickets"]) for r in year.tables["trend"].rows] == [
        ("2026-11-01", 8), ("2026-12-01", 1)]
    assert nov.totals["calls112"] == 3  # A prank, B real, E wrong number
    assert nov.totals["calls112_not_emergency"] == 2
    assert nov.totals["calls112_not_emergency_share"] == 66.7
    assert _col(nov, "calls112", "close_reason", "calls") == {
        "prank": 1, "-": 1, "wrong_number": 1}


async def test_volumes_by_category_department_district(dataset: dict[str, Any]) -> None:
    w47 = await _figures("weekly", "2026-W47")
    cat0, cat1 = dataset["categories"]
    dept0, dept1 = dataset["departments"]
    d0, d1, d2 = dataset["districts"]
    assert _col(w47, "categories", "category_id", "tickets") == {cat0: 1, cat1: 4}
    assert _col(w47, "departments", "department_id", "tickets") == {dept0: 1, dept1: 4}
    assert _col(w47, "districts", "district_id", "tickets") == {d0: 1, d1: 2, d2: 2}
    assert _col(w47, "categories", "category_id", "share") == {cat0: 20.0, cat1: 80.0}


async def test_sla_compliance_and_response_percentiles(dataset: dict[str, Any]) -> None:
    w47 = await _figures("weekly", "2026-W47")
    dept0, dept1 = dataset["departments"]
    sla = {r["department_id"]: r for r in w47.tables["sla_departments"].rows}
    # dept0: A met both (an emergency's second deadline is dispatch, so resolving it
    # after 45 minutes does not miss it). dept1: C met both, D missed both (due 21
    # and 26 Nov, before AS_OF); G has no deadlines; R is rejected and outside the SLA.
    assert (sla[dept0]["ack_met"], sla[dept0]["ack_missed"]) == (1, 0)
    assert (sla[dept1]["ack_met"], sla[dept1]["ack_missed"]) == (1, 1)
    assert sla[dept1]["ack_compliance"] == 50.0 and sla[dept1]["resolve_compliance"] == 50.0
    assert sla["all"]["tickets"] == 4
    assert sla["all"]["ack_compliance"] == 66.7 and sla["all"]["resolve_compliance"] == 66.7
    times = {r["priority"]: r for r in w47.tables["response_times"].rows}
    # Acknowledge: A 300 s, C 3600 s -> median 1950 s = 32.5 min, p90 = 300 + 0.9*3300
    # = 3270 s = 54.5 min. Resolve: A 2700 s, C 172800 s -> median 87750 s = 24.4 h,
    # p90 = 2700 + 0.9*170100 = 155790 s = 43.3 h.
    assert (times["all"]["ack_p50_min"], times["all"]["ack_p90_min"]) == (32.5, 54.5)
    assert (times["all"]["resolve_p50_h"], times["all"]["resolve_p90_h"]) == (24.4, 43.3)
    assert times["P1"]["ack_p50_min"] == 5.0 and times["P3"]["resolve_p50_h"] == 48.0
    # B in W48 was acknowledged in time; the scheduler marked its dispatch late.
    w48 = await _figures("weekly", "2026-W48")
    all48 = w48.tables["sla_departments"].rows[-1]
    assert (all48["ack_compliance"], all48["resolve_compliance"]) == (100.0, 0.0)
    # E, a 112 call closed as a wrong number without acknowledgement, never needed
    # its deadlines: neither met nor missed (F has none).
    w49 = await _figures("weekly", "2026-W49")
    all49 = w49.tables["sla_departments"].rows[-1]
    assert (all49["tickets"], all49["ack_met"], all49["ack_missed"], all49["resolve_met"],
            all49["resolve_missed"], all49["ack_compliance"]) == (2, 0, 0, 0, 0, None)


async def test_alarms_heatmap_and_staffing(dataset: dict[str, Any]) -> None:
    w47 = await _figures("weekly", "2026-W47")
    alarms = _col(w47, "alarms", "measure", "value")
    assert (alarms["raised"], alarms["acknowledged"], alarms["dispatched"],
            alarms["false_alarms"]) == (2, 2, 1, 1)
    assert (alarms["ack_p50"], alarms["ack_p90"]) == (60.0, 84.0)  # of 30 s and 90 s
    assert (alarms["dispatch_p50"], alarms["dispatch_p90"]) == (120.0, 120.0)
    # Weekday x hour in WIB: A on Sunday at 23h, not Sunday 16h UTC.
    hm = w47.heatmap
    assert hm[6][23] == 1 and hm[6][16] == 0
    assert hm[0][0] == 1 and hm[1][9] == 1 and hm[2][9] == 1 and hm[3][14] == 1
    assert sum(map(sum, hm)) == 5
    staffing = {r["role"]: r for r in w47.tables["staffing"].rows}
    assert set(r["template"] for r in w47.tables["staffing"].rows) == {"pagi"}
    cc = staffing["call_center"]
    assert (cc["shifts"], cc["worked"], cc["minimum"], cc["avg_rostered"],
            cc["avg_attended"], cc["short_attended"]) == (1, 1, 15, 2.0, 1.0, 1)
    assert staffing["supervisor"]["short_attended"] == 0
    assert w47.totals["short_shift_roles"] == 3  # call center, expert, police
    assert w47.tables["staffing_shifts"].rows == [
        {"day": "2026-11-22", "template": "pagi", "status": "closed", "minimum": 29,
         "rostered": 3, "attended": 2, "short_roles": "call_center expert police"}]
    w48 = await _figures("weekly", "2026-W48")
    planned = {r["role"]: r for r in w48.tables["staffing"].rows}
    assert planned["expert"]["worked"] == 0 and planned["expert"]["short_attended"] == 0
    assert planned["expert"]["short_rostered"] == 1


def test_period_parsing() -> None:
    w = periods.parse("weekly", "2026-W47")
    assert w.start == at("2026-11-16 00:00") and w.end == at("2026-11-23 00:00")
    m = periods.parse("monthly", "2026-12")
    assert m.end == at("2027-01-01 00:00")
    assert periods.parse("weekly", "2026-W53").first_day.isoformat() == "2026-12-28"
    for kind, bad in [("weekly", "2026-47"), ("weekly", "2025-W53"), ("monthly", "2026-13"),
                      ("yearly", "26"), ("daily", "2026")]:
        with pytest.raises(periods.PeriodError):
            periods.parse(kind, bad)
    prev = periods.previous("weekly", at("2026-11-28 10:00"))
    assert prev.label == "2026-W47"
    assert periods.previous("monthly", at("2026-01-05 10:00")).label == "2025-12"


async def test_zone_arithmetic_matches_at_time_zone(dataset: dict[str, Any]) -> None:
    from server.reports import figures

    period = periods.parse("monthly", "2026-11")
    assert figures._fixed_offset(period) == 7 * 3600
    fast = await compute(period, AS_OF)
    serial = await compute(period, AS_OF, concurrent=False)
    assert serial.tables == fast.tables and serial.totals == fast.totals
    exact = await compute(period, AS_OF, zone_arithmetic=False)
    assert fast.heatmap == exact.heatmap and sum(map(sum, fast.heatmap)) == 8
    assert fast.tables["trend"].rows == exact.tables["trend"].rows
    assert [r["bucket"] for r in exact.tables["trend"].rows][:2] == ["2026-11-15", "2026-11-16"]
