"""Postgres restarts in the middle of a burst of presses: every press ends as
exactly one alarm (with its ticket and one alarm.raised event), the server answers
503 while the database is away, and a console sees each alarm once."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from db import migrate
from db.embedded import EmbeddedPostgres
from server.alarms.client import DeviceClient, PressResult
from tests.test_alarms_fixtures import (
    client_for,
    enrol,
    fast_config,
    fetch,
    running_server,
    wait_for,
)

DEVICES = 10
PRESSES = 6  # per device


async def _seed(url: str) -> None:
    from db.orm import close_orm, init_orm
    from db.seed.demo import seed_demo

    await init_orm(url, max_size=4)
    try:
        await seed_demo(tickets=0)
    finally:
        await close_orm()


async def test_postgres_restart_mid_burst_loses_and_duplicates_no_alarm() -> None:
    # Our own cluster, so stopping it touches no other test. Below /tmp, where the
    # postgres user can reach it when the tests run as root.
    cluster = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="pantau-alarm-pg-")))
    try:
        url = await asyncio.to_thread(cluster.start)
        await migrate.upgrade(url)
        await _seed(url)
        async with running_server(url, fast_config()) as srv, client_for(srv) as api:
            sup = await api.login("supervisor")
            secrets = [(await enrol(api, f"burst-{i:02d}", token=sup))[1]
                       for i in range(DEVICES)]
            ws = await api.ws(token=await api.login("operator"))
            assert (await ws.receive_json())["type"] == "hello"

            async def presses(i: int) -> list[PressResult]:
                unit = DeviceClient(api.base, f"burst-{i:02d}", secrets[i], api.session,
                                    timeout_s=3.0, first_backoff_s=0.1, max_backoff_s=1.0)
                done = []
                for _ in range(PRESSES):
                    done.append(await unit.press(deadline_s=60))
                    await asyncio.sleep(0.15)
                return done

            burst = asyncio.gather(*(presses(i) for i in range(DEVICES)))
            await asyncio.sleep(0.3)
            await asyncio.to_thread(cluster.stop, "immediate")  # a crash, not a goodbye
            await asyncio.sleep(1.5)
            assert (await api.get("/healthz"))[0] == 503
            await asyncio.to_thread(cluster.start)
            results = [r for per_device in await burst for r in per_device]

            # every press confirmed, each with its own alarm
            assert len(results) == DEVICES * PRESSES
            assert all(r.status in (200, 201) for r in results)
            ids = [r.alarm_id for r in results]
            assert len(set(ids)) == len(ids)
            outcomes = Counter(s for r in results for s in r.statuses)
            print("attempt outcomes:", dict(outcomes))
            assert outcomes[503] > 0, outcomes  # the server said "retry" while Postgres was away
            assert outcomes[500] == 0, outcomes
            assert any(r.attempts > 1 for r in results)

            # the console sees each alarm exactly once (the hub replays the gap)
            seen: Counter[int] = Counter()

            async def read_until_all() -> None:
                while not set(ids) <= set(seen):
                    msg = await ws.receive_json()
                    if msg.get("type") == "event" and msg["kind"] == "alarm.raised":
                        seen[msg["payload"]["alarm"]["id"]] += 1

            await asyncio.wait_for(read_until_all(), 30)
            await asyncio.sleep(0.5)  # anything duplicated would arrive now
            while True:
                try:
                    msg = await ws.receive_json(timeout=0.2)
                except TimeoutError:
                    break
                if msg.get("type") == "event" and msg["kind"] == "alarm.raised":
                    seen[msg["payload"]["alarm"]["id"]] += 1
            assert set(seen) == set(ids) and max(seen.values()) == 1
            await ws.close()

            # every alarm gets its P1 ticket, linked in the background right after
            # the alarm (or by the timers' repair pass if the outage interrupted it)
            async def all_linked() -> bool:
                rows = await fetch(url, "SELECT count(*) AS n FROM panic_alarms"
                                   " WHERE ticket_id IS NULL")
                return int(rows[0]["n"]) == 0

            await wait_for(all_linked, timeout=30)

        rows = await fetch(url, "SELECT a.id, a.idempotency_key, a.ticket_id, t.channel"
                           " FROM panic_alarms a LEFT JOIN tickets t ON t.id = a.ticket_id")
        assert sorted(r["id"] for r in rows) == sorted(ids)
        assert {r["idempotency_key"] for r in rows} == {r.idempotency_key for r in results}
        assert all(r["channel"] == "panic" for r in rows)
        raised = await fetch(url, "SELECT subject_id FROM events WHERE kind = 'alarm.raised'")
        assert sorted(int(r["subject_id"]) for r in raised) == sorted(ids)
        tickets = await fetch(url, "SELECT count(*) AS n FROM tickets WHERE channel = 'panic'")
        assert tickets[0]["n"] == len(ids)
    finally:
        await asyncio.to_thread(cluster.destroy)
