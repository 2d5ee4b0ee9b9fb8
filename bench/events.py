"""Commit-to-WebSocket latency of the event log, against raw INSERT+NOTIFY->LISTEN.

Both are measured in the same run on the same Postgres: the raw figure is the
floor (a transaction that inserts and notifies, seen by a LISTENing asyncpg
connection); the full path is db.events.append() in a transaction, the hub of a
real `pantau serve` process, and a WebSocket client. Target: p99 within 10x.

    .venv/bin/python bench/events.py [--events 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import asyncpg

from bench.common import bench_database, pantau_serve, pct, summary
from db import migrate


async def raw_latency(url: str, n: int) -> list[float]:
    listener = await asyncpg.connect(url)
    writer = await asyncpg.connect(url)
    await writer.execute("CREATE TEMP TABLE IF NOT EXISTS raw_bench (id bigserial, t float8)")
    got: dict[str, float] = {}
    arrived = asyncio.Event()

    def on_notify(_c: object, _pid: int, _ch: str, payload: str) -> None:
        got[payload] = time.perf_counter()
        arrived.set()

    await listener.add_listener("raw_bench", on_notify)
    out = []
    for i in range(n):
        arrived.clear()
        start = time.perf_counter()
        async with writer.transaction():
            await writer.execute("INSERT INTO raw_bench (t) VALUES ($1)", start)
            await writer.execute("SELECT pg_notify('raw_bench', $1)", str(i))
        await asyncio.wait_for(arrived.wait(), 5)
        out.append((got[str(i)] - start) * 1000)
    await listener.close()
    await writer.close()
    return out


async def full_latency(url: str, base: str, n: int) -> list[float]:
    from tortoise.transactions import in_transaction

    from db import events
    from db.orm import close_orm, init_orm

    await init_orm(url, max_size=4)
    async with aiohttp.ClientSession() as session:
        async with session.post(base + "/api/auth/login",
                                json={"username": "bench", "password": "bench-password"}) as r:
            token = (await r.json())["token"]
        ws = await session.ws_connect(base + "/api/events",
                                      headers={"Authorization": f"Bearer {token}"})
        assert (await ws.receive_json())["type"] == "hello"
        out = []
        for i in range(n):
            start = time.perf_counter()
            async with in_transaction() as tx:
                await events.append(tx, "bench.tick", "bench", i, "bench", {"i": i})
            while True:
                msg = await asyncio.wait_for(ws.receive_json(), 5)
                if msg.get("type") == "event" and msg["payload"].get("i") == i:
                    break
            out.append((time.perf_counter() - start) * 1000)
        await ws.close()
    await close_orm()
    return out


async def main(n: int) -> None:
    with bench_database() as url:
        await migrate.upgrade(url)
        env = {**os.environ, "DATABASE_URL": url, "PANTAU_NEW_PASSWORD": "bench-password",
               "PANTAU_LOG_FORMAT": "json"}
        pantau = str(Path(sys.executable).parent / "pantau")
        subprocess.run([pantau, "user", "add", "bench", "--name", "Bench", "--role",
                        "supervisor"], env=env, capture_output=True)
        async with pantau_serve(env) as (base, _):
            await raw_latency(url, 100)  # warm-up
            raw = await raw_latency(url, n)
            full = await full_latency(url, base, n)
    print(f"events: {n} per path, sequential, on {os.cpu_count()} cores")
    print(f"  raw INSERT+NOTIFY -> LISTEN      {summary(raw)}")
    print(f"  append -> hub -> WebSocket       {summary(full)}")
    ratio = pct(full, 99) / pct(raw, 99)
    print(f"  p99 ratio full/raw: {ratio:.1f}x (target <= 10x) "
          f"{'OK' if ratio <= 10 else 'OVER TARGET'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    asyncio.run(main(parser.parse_args().events))
