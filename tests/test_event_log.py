"""The event log: append commits with its state, NOTIFY only on commit, replay by id."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from db import events
from db.models import Department


async def _listener(url: str) -> tuple[asyncpg.Connection, list[int]]:
    conn = await asyncpg.connect(url)
    got: list[int] = []
    await conn.add_listener(events.CHANNEL, lambda *a: got.append(int(a[-1])))
    return conn, got


async def test_append_is_notified_after_commit_and_replayable(orm: str) -> None:
    conn, got = await _listener(orm)
    start = await events.last_id(conn)
    async with in_transaction() as tx:
        dept = await Department.create(code="test-dept", name="Test", using_db=tx)
        await events.append(tx, "department.created", "department", dept.id, "person:t",
                            {"code": "test-dept"}, department_id=dept.id)
        await events.append(tx, "department.checked", "department", dept.id, "person:t")
        await asyncio.sleep(0.2)
        assert got == [], "NOTIFY must not arrive before commit"
        assert await events.since(conn, start) == [], "nor may a reader see the rows"
    for _ in range(50):
        if len(got) == 2:
            break
        await asyncio.sleep(0.02)
    # numbered at commit, consecutively and in the order they were appended
    assert got == [start + 1, start + 2]
    replay = await events.since(conn, start)
    assert [(e.id, e.kind) for e in replay] == [(start + 1, "department.created"),
                                                (start + 2, "department.checked")]
    assert replay[0].payload == {"code": "test-dept"}
    assert replay[0].department_id == dept.id
    await conn.close()


async def test_rolled_back_change_leaves_neither_row_nor_event(orm: str) -> None:
    conn, got = await _listener(orm)
    before = await events.last_id(conn)
    with pytest.raises(RuntimeError):
        async with in_transaction() as tx:
            await Department.create(code="ghost", name="Ghost", using_db=tx)
            await events.append(tx, "department.created", "department", 0, "t")
            raise RuntimeError("abort")
    await asyncio.sleep(0.2)
    assert got == []
    assert await events.since(conn, before) == []
    assert not await Department.filter(code="ghost").exists()
    await conn.close()


async def test_concurrent_appends_become_visible_in_id_order(orm: str) -> None:
    """A reader resuming from the highest id it saw must never skip a lower one."""
    conn, _ = await _listener(orm)
    start = await events.last_id(conn)
    seen: list[int] = []
    stop = asyncio.Event()

    async def reader() -> None:
        cursor = start
        while not stop.is_set() or cursor < start + 200:
            batch = await events.since(conn, cursor)
            for e in batch:
                seen.append(e.id)
                cursor = e.id
            await asyncio.sleep(0)

    async def writer(n: int) -> None:
        for i in range(20):
            async with in_transaction() as tx:
                await events.append(tx, "test.tick", "test", f"{n}-{i}", "t")
                await asyncio.sleep(0.001 * (i % 3))  # hold the transaction a little

    task = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(10)))
    stop.set()
    await asyncio.wait_for(task, 10)
    assert seen == list(range(start + 1, start + 201))
    await conn.close()
