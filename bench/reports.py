"""A yearly report over 1,000,000 tickets. Target: under 3 s.

Generates a year (2025, Asia/Jakarta) of tickets with generate_series, in chunks
so progress shows, plus panic alarms and a rostered shift for every template
and day; then times the yearly figures (SQL), the rendering (HTML + CSV) and,
as the floor, one plain count over the same rows. Generation is skipped when the
rows are already there, so a second run measures at once.

    .venv/bin/python bench/reports.py [--tickets 1000000] [--runs 3]

With DATABASE_URL set it adds the BENCH- rows to that database; otherwise it
uses a throw-away private cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench.common import bench_database
from db import migrate
from db.vault import server_key

YEAR = "2025"
CHUNK = 100_000

_TICKETS = """
INSERT INTO tickets (reference, channel, category_id, priority, status, district_id,
                     department_id, description, close_reason, created_at, sla_started_at,
                     ack_due_at, acknowledged_at, resolve_due_at, resolved_at)
SELECT 'BENCH-' || g, ch.channel, cat.id, cat.prio, st.status, dist.id,
       CASE WHEN st.status IN ('new', 'triaged') THEN NULL ELSE cat.department_id END,
       'bench ticket', CASE WHEN ch.channel = 'call112' AND g % 3 = 0 THEN
           (ARRAY['prank','information','wrong_number','duplicate'])[1 + g % 4] ELSE '' END,
       t.created, t.created,
       t.created + CASE WHEN cat.prio <= 2 THEN interval '15 minutes' ELSE interval '3 days' END,
       CASE WHEN st.status IN ('acknowledged','in_progress','resolved','closed')
            THEN t.created + (random() * interval '4 days') END,
       t.created + CASE WHEN cat.prio <= 2 THEN interval '30 minutes' ELSE interval '8 days' END,
       CASE WHEN st.status IN ('resolved','closed')
            THEN t.created + interval '4 days' + (random() * interval '8 days') END
FROM generate_series($1::bigint, $2::bigint) AS g
-- Spread over the year by a multiplicative hash of g (a lateral random() that
-- does not mention g would be evaluated once for the whole chunk).
CROSS JOIN LATERAL (SELECT $3::timestamptz + ((g * 2654435761) % 31536000) * interval '1 second'
                    AS created) AS t
CROSS JOIN LATERAL (SELECT (ARRAY['open311','open311','open311','web','call112','cctv',
                                  'walk_in'])[1 + (g % 7)::int] AS channel) AS ch
CROSS JOIN LATERAL (SELECT (ARRAY['new','triaged','routed','acknowledged','in_progress',
                                  'resolved','resolved','closed','closed','rejected'])
                           [1 + ((g / 7) % 10)::int] AS status) AS st
JOIN LATERAL (SELECT id, default_priority AS prio, department_id FROM categories
              ORDER BY id OFFSET (g % $4) LIMIT 1) AS cat ON true
JOIN LATERAL (SELECT id FROM districts ORDER BY id OFFSET ((g / 3) % 30) LIMIT 1) AS dist ON true
"""

_ALARMS = """
INSERT INTO panic_alarms (device_id, idempotency_key, status, lat, lon, raised_at,
                          acknowledged_at, dispatched_at)
SELECT $1, 'bench-' || g, 'resolved', -6.9, 107.6, r.at,
       r.at + random() * interval '90 seconds', r.at + random() * interval '10 minutes'
FROM generate_series(1, $2) AS g
CROSS JOIN LATERAL (SELECT $3::timestamptz + ((g * 2654435761) % 31536000) * interval '1 second'
                    AS at) AS r
"""

_SHIFTS = """
INSERT INTO shifts (template_id, day, status)
SELECT t.id, d::date, 'closed'
FROM shift_templates t, generate_series($1::date, $2::date, interval '1 day') AS d
ON CONFLICT DO NOTHING
"""

_ROSTER = """
INSERT INTO shift_assignments (shift_id, person_id, role, checked_in_at, checked_out_at)
SELECT s.id, p.id, p.roles[1], CASE WHEN random() < 0.95 THEN now() END, NULL
FROM shifts s
JOIN shift_templates t ON t.id = s.template_id
JOIN people p ON p.username LIKE '%.' || t.code || '%' AND p.roles[1] <> 'department'
WHERE s.day BETWEEN $1::date AND $2::date
ON CONFLICT DO NOTHING
"""


def progress(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(f"\r  {label:<9} {done:>9,}/{total:,}  ({rate:,.0f}/s)", end="", file=sys.stderr,
          flush=True)
    if done >= total:
        print(file=sys.stderr)


async def generate(url: str, n: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        have = await conn.fetchval("SELECT count(*) FROM tickets WHERE reference LIKE 'BENCH-%'")
        from server.reports.periods import parse

        year = parse("yearly", YEAR)
        start = year.start
        if have >= n:
            print(f"  {have:,} bench tickets already there", file=sys.stderr)
            return
        ncat = await conn.fetchval("SELECT count(*) FROM categories")
        await conn.execute("SELECT setseed(0.2015)")
        began = time.perf_counter()
        for lo in range(have + 1, n + 1, CHUNK):
            hi = min(n, lo + CHUNK - 1)
            await conn.execute(_TICKETS, lo, hi, start, ncat)
            progress("tickets", hi, n, began)
        dev = await conn.fetchval(
            "INSERT INTO devices (code, owner_name, lat, lon, sealed_secret) VALUES"
            " ('bench-device', 'Bench', -6.9, 107.6, $1) ON CONFLICT (code)"
            " DO UPDATE SET owner_name = 'Bench' RETURNING id",
            server_key(create=True).seal("pds_bench_never_presses"))
        began = time.perf_counter()
        await conn.execute(_ALARMS, dev, n // 50, start)
        progress("alarms", n // 50, n // 50, began)
        began = time.perf_counter()
        last = year.end_day - timedelta(days=1)
        await conn.execute(_SHIFTS, year.first_day, last)
        await conn.execute(_ROSTER, year.first_day, last)
        shifts = await conn.fetchval("SELECT count(*) FROM shift_assignments")
        progress("rosters", shifts, shifts, began)
        began = time.perf_counter()
        await conn.execute("VACUUM ANALYZE tickets")
        await conn.execute("VACUUM ANALYZE panic_alarms")
        await conn.execute("ANALYZE shift_assignments")
        print(f"  vacuum analyze {time.perf_counter() - began:.1f} s", file=sys.stderr)
    finally:
        await conn.close()


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a local process (a Postgres backend), or None if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(url: str, runs: int) -> None:
    """Wall time as a user sees it, and the backend's CPU time for the same work run
    serially: on a shared machine the wall time mostly measures the other load,
    the CPU seconds do not."""
    from tortoise import connections

    from db.orm import close_orm, init_orm
    from server.reports import build, render
    from server.reports.figures import compute

    period = build.period_of("yearly", YEAR)
    raw = await asyncpg.connect(url)
    floor = []
    for _ in range(runs):
        t0 = time.perf_counter()
        count = await raw.fetchval("SELECT count(*) FROM tickets WHERE created_at >= $1"
                                   " AND created_at < $2", period.start, period.end)
        floor.append(time.perf_counter() - t0)
    await raw.close()
    # Four connections: the report's three scans run at once in a shared snapshot.
    await init_orm(url, max_size=4)
    try:
        sql_times, render_times = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            fig = await build.figures(period)
            t1 = time.perf_counter()
            render.html(fig, "id")
            render.csv_files(fig, "id")
            render.summary(fig, "id")
            t2 = time.perf_counter()
            sql_times.append(t1 - t0)
            render_times.append(t2 - t1)
    finally:
        await close_orm()
    # CPU: everything on one connection, no parallel workers, so one backend does
    # all the work and its CPU time is the report's.
    await init_orm(url, max_size=1)
    cpu = []
    try:
        conn = connections.get("default")
        pid = (await conn.execute_query_dict("SELECT pg_backend_pid() AS pid"))[0]["pid"]
        await conn.execute_query("SET max_parallel_workers_per_gather = 0")
        for _ in range(runs):
            before = _cpu_seconds(pid)
            await compute(period, concurrent=False)
            after = _cpu_seconds(pid)
            if before is not None and after is not None:
                cpu.append(after - before)
    finally:
        await close_orm()
    total = [a + b for a, b in zip(sql_times, render_times, strict=True)]
    print(f"yearly report {YEAR} over {count:,} tickets ({runs} runs, median; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    print(f"  figures (SQL)     {statistics.median(sql_times):6.2f} s")
    print(f"  render html+csv   {statistics.median(render_times):6.3f} s")
    print(f"  total             {statistics.median(total):6.2f} s   target < 3 s: "
          f"{'met' if statistics.median(total) < 3 else 'NOT met'}")
    if cpu:
        print(f"  Postgres CPU, serial plan (what an idle core needs): "
              f"{statistics.median(cpu):5.2f} s")
    else:
        print("  Postgres CPU: not measurable here (the server is not a local process)")
    print(f"  floor: one count(*) over the year {statistics.median(floor):6.2f} s")
    print(f"  tickets {fig.totals['tickets']:,}, 112 calls {fig.totals['calls112']:,}, "
          f"alarms {fig.totals['alarms']:,}")


async def prepare(url: str) -> None:
    from db.orm import close_orm, init_orm
    from db.seed.demo import seed_demo

    await migrate.upgrade(url)
    await init_orm(url, max_size=2)
    try:
        await seed_demo(tickets=0)
    finally:
        await close_orm()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with bench_database() as url:
        print("preparing (migrate, demo city, generate) ...", file=sys.stderr)
        asyncio.run(prepare(url))
        asyncio.run(generate(url, args.tickets))
        asyncio.run(measure(url, args.runs))


if __name__ == "__main__":
    main()
