"""Tickets at city scale: queue pages over a million tickets, and Open311 intake
throughput through the whole server beside raw pgbench INSERTs.

1. Seeds the demo city and N tickets (default 1,000,000) with generate_series,
   in batches, with progress; then VACUUM ANALYZE.
   Coordinates spread up to ~2 km around the 30 district centres.
2. Starts `pantau serve` (SLA scheduler off, so a million overdue seeds do not
   turn into breach events during the run) and measures, sequentially:
   - the open queue's first page:          GET /api/tickets?limit=50     (target p95 20 ms)
   - a filtered page: department+priority  GET /api/tickets?department=..&priority=3
                                                                          (target p95 30 ms)
3. Open311 POST /open311/v2/requests.json with C concurrent clients for T seconds
   (real form posts, api_key check, validation, reference, ticket + event in one
   transaction), and `pgbench` single-row INSERTs with the same C clients for the
   same T on the same Postgres, as a ratio (target >= 0.25). Beside them, the
   same server answering a request that never touches the database: the ceiling
   any handler in this process can reach on this machine.

    .venv/bin/python bench/tickets.py [--tickets 1000000] [--seconds 10] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import asyncpg

from bench.common import bench_database, demo_city, pantau_serve, pct
from db import migrate

BATCH = 50_000

# One batch of tickets: categories, districts and statuses drawn per row; due
# times as intake would set them (minutes for P1/P2, about a week for P3/P4).
_SEED = """
WITH cats AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(default_priority ORDER BY id)
                AS prios, array_agg(department_id ORDER BY id) AS depts FROM categories),
     dists AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(lat ORDER BY id) AS lats,
                 array_agg(lon ORDER BY id) AS lons FROM districts),
     rows AS (
  SELECT g,
         1 + (hashint4(g) & 2147483647) % array_length(cats.ids, 1) AS ci,
         1 + (hashint4(g + 7) & 2147483647) % array_length(dists.ids, 1) AS di,
         (ARRAY['new','new','triaged','routed','routed','acknowledged','in_progress',
                'resolved','resolved','closed','closed','closed','rejected'])
           [1 + (hashint4(g + 13) & 2147483647) % 13] AS status,
         now() - make_interval(secs => (hashint4(g + 17) & 2147483647) % (90 * 86400))
           AS created,
         (ARRAY['open311','open311','open311','web','call112','cctv','walk_in'])
           [1 + (hashint4(g + 19) & 2147483647) % 7] AS channel
  FROM generate_series($1::int, $2::int) g, cats, dists)
INSERT INTO tickets (reference, channel, category_id, priority, status, address, district_id,
                     lat, lon, description, department_id, ack_due_at, resolve_due_at,
                     sla_started_at, created_at, updated_at, acknowledged_at)
SELECT 'BENCH-' || g, channel, cats.ids[ci], cats.prios[ci], status,
       'Jl. Bench ' || (g % 997), dists.ids[di],
       dists.lats[di] + ((hashint4(g + 23) & 2147483647) % 4001 - 2000) * 0.00001,
       dists.lons[di] + ((hashint4(g + 29) & 2147483647) % 4001 - 2000) * 0.00001,
       'Laporan warga nomor ' || g || ': ' || (ARRAY['jalan berlubang', 'sampah menumpuk',
         'lampu jalan mati', 'saluran tersumbat', 'pohon tumbang', 'parkir liar'])[1 + g % 6],
       CASE WHEN status IN ('new', 'triaged', 'rejected') THEN NULL ELSE cats.depts[ci] END,
       created + CASE WHEN cats.prios[ci] <= 2 THEN interval '15 minutes'
                      ELSE interval '3 days' END,
       created + CASE WHEN cats.prios[ci] <= 2 THEN interval '30 minutes'
                      ELSE interval '7 days' END,
       created, created, created,
       CASE WHEN status IN ('acknowledged', 'in_progress', 'resolved', 'closed')
            THEN created + interval '10 minutes' END
FROM rows, cats, dists
"""


async def seed(url: str, n: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        have = await conn.fetchval("SELECT count(*) FROM tickets WHERE reference LIKE 'BENCH-%'")
        started = time.perf_counter()
        for lo in range(have + 1, n + 1, BATCH):
            hi = min(n, lo + BATCH - 1)
            await conn.execute(_SEED, lo, hi)
            rate = (hi - have) / (time.perf_counter() - started)
            print(f"\r  seeding tickets {hi:>9,}/{n:,}  ({rate:,.0f}/s)", end="", flush=True)
        print(f"\r  seeded {n:,} tickets in {time.perf_counter() - started:.0f}s" + " " * 20)
        # A table in service is kept vacuumed by autovacuum; a freshly bulk-loaded one
        # is not, and its index scans would pay heap visits (and autovacuum would
        # run during the measurements). Bring it to that steady state first.
        print("  VACUUM ANALYZE tickets ...", flush=True)
        await conn.execute("VACUUM (ANALYZE) tickets")
    finally:
        await conn.close()


async def timed_gets(session: aiohttp.ClientSession, url: str, token: str, n: int
                     ) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    for _ in range(n):
        start = time.perf_counter()
        async with session.get(url, headers=headers) as r:
            assert r.status == 200, await r.text()
            await r.read()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def open311_throughput(base: str, seconds: float, clients: int) -> tuple[float, int]:
    """Complaints from all over the city (a single spot would make every post a
    duplicate candidate of every other and measure that instead)."""
    rng = random.Random(311)
    codes = ["jalan-rusak", "sampah", "drainase", "lampu-jalan", "parkir-liar", "pohon-tumbang"]

    def form() -> dict[str, str]:
        return {"api_key": "demo-open311-key", "service_code": rng.choice(codes),
                "lat": f"{rng.uniform(-6.96, -6.86):.5f}",
                "long": f"{rng.uniform(107.56, 107.72):.5f}",
                "description": "Laporan warga (bench)", "first_name": "Bench"}

    done = 0
    failed = 0
    deadline = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            async with session.post(base + "/open311/v2/requests.json", data=form()) as r:
                await r.read()
                if r.status == 201:
                    done += 1
                else:
                    failed += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return done / elapsed, failed


async def http_ceiling(base: str, seconds: float, clients: int) -> float:
    """Requests/s of an endpoint that never touches the database (Open311 discovery):
    the most this server process can answer on this machine, whatever the handler."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with session.get(base + "/open311/v2/discovery.json") as r:
                await r.read()
                done += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as s:
        started = time.perf_counter()
        await asyncio.gather(*(client(s) for _ in range(clients)))
        return done / (time.perf_counter() - started)


def pgbench_tps(url: str, seconds: int, clients: int) -> float:
    """Raw single-row INSERT throughput of the same Postgres."""
    pg = subprocess.run(["pgbench", "--version"], capture_output=True, text=True)
    if pg.returncode != 0:
        raise SystemExit("pgbench not found (Debian: postgresql-client)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_raw (payload) VALUES ('raw row');\n")
    subprocess.run(["psql", url, "-q", "-c",
                    "CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY,"
                    " payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())"],
                   check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds),
                          "-f", script.name, url], capture_output=True, text=True)
    os.unlink(script.name)
    m = re.search(r"tps = ([0-9.]+)", out.stdout)
    if not m:
        raise SystemExit(f"pgbench failed: {out.stderr or out.stdout}")
    return float(m.group(1))


async def main(n: int, seconds: int, clients: int, samples: int) -> None:
    with bench_database() as url:
        await migrate.upgrade(url)
        env = demo_city(url, "tickets")
        await seed(url, n)
        async with pantau_serve(env) as (base, _):
            async with aiohttp.ClientSession() as session:
                async with session.post(base + "/api/auth/login", json={
                        "username": "operator", "password": "pantau-demo"}) as r:
                    token = (await r.json())["token"]
                first_url = base + "/api/tickets?limit=50"
                filtered_url = base + "/api/tickets?limit=50&department=dsdabm&priority=3"
                text_url = base + "/api/tickets?limit=50&q=tersumbat"
                await timed_gets(session, first_url, token, 20)  # warm-up
                await timed_gets(session, filtered_url, token, 20)
                first = await timed_gets(session, first_url, token, samples)
                filtered = await timed_gets(session, filtered_url, token, samples)
                text = await timed_gets(session, text_url, token, max(20, samples // 5))
            rps, failed = await open311_throughput(base, seconds, clients)
            ceiling = await http_ceiling(base, seconds, clients)
        tps = pgbench_tps(url, seconds, clients)
    p95_first, p95_filtered = pct(first, 95), pct(filtered, 95)
    ratio = rps / tps
    print(f"tickets: {n:,} seeded, {os.cpu_count()} cores, {samples} sequential GETs per page")
    print(f"  open queue, first page      p50 {pct(first, 50):6.1f} ms  p95 {p95_first:6.1f} ms"
          f"  (target 20 ms) {'OK' if p95_first <= 20 else 'OVER TARGET'}")
    print(f"  dept+priority, first page   p50 {pct(filtered, 50):6.1f} ms  p95 "
          f"{p95_filtered:6.1f} ms  (target 30 ms) {'OK' if p95_filtered <= 30 else 'OVER TARGET'}")
    print(f"  free text q=, first page    p50 {pct(text, 50):6.1f} ms  p95 {pct(text, 95):6.1f} ms"
          f"  (no target)")
    print(f"  Open311 POST, full server   {rps:8.0f} req/s  ({clients} clients, {seconds}s,"
          f" {failed} failed)")
    print(f"  no-database GET, same server {ceiling:7.0f} req/s  (the HTTP ceiling: "
          f"{ceiling / tps:.3f} of pgbench)")
    print(f"  pgbench single-row INSERT   {tps:8.0f} tx/s   ({clients} clients, {seconds}s)")
    print(f"  ratio Open311/pgbench: {ratio:.3f} (target >= 0.25) "
          f"{'OK' if ratio >= 0.25 else 'UNDER TARGET'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--samples", type=int, default=200)
    a = parser.parse_args()
    asyncio.run(main(a.tickets, a.seconds, a.clients, a.samples))
