"""Group commit of presses (server/alarms/raising.py): presses that arrive together
share one transaction, each is answered on its own, repeats of a press or of a
request wait for the next batch, and one bad press never fails its neighbours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from server.alarms.lifecycle import AlarmError, Replayed
from server.alarms.raising import AlarmRaiser


@pytest.fixture
async def raiser(db_url: str) -> AsyncIterator[AlarmRaiser]:
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
    unit = AlarmRaiser(pool)
    unit.start()
    yield unit
    await unit.stop()
    await pool.close()


async def _devices(db_url: str) -> list[int]:
    conn = await asyncpg.connect(db_url)
    try:
        return [r["id"] for r in await conn.fetch("SELECT id FROM devices ORDER BY id LIMIT 4")]
    finally:
        await conn.close()


async def test_presses_arriving_together_share_a_batch_and_each_gets_its_answer(
        raiser: AlarmRaiser, db_url: str) -> None:
    ids = await _devices(db_url)
    assert len(ids) == 4
    firsts = [raiser.submit(d, f"press-{d}", signature=f"sig-{d}", actor="device:t")
              for d in ids]
    # a retry of the first press (same key, new signature) and a replay of the
    # second device's request (same signature), both racing their originals
    retry = raiser.submit(ids[0], f"press-{ids[0]}", signature="sig-retry", actor="device:t")
    replay = raiser.submit(ids[1], "another-press", signature=f"sig-{ids[1]}", actor="device:t")
    unknown = raiser.submit(999_999, "ghost", signature="sig-ghost", actor="device:t")
    *made, again, replayed, ghost = await asyncio.gather(*firsts, retry, replay, unknown,
                                                         return_exceptions=True)
    assert all(isinstance(m, tuple) and m[1] is True for m in made)
    assert isinstance(again, tuple) and again[1] is False
    assert again[0]["id"] == made[0][0]["id"]  # type: ignore[index]
    assert again[0]["device"] == made[0][0]["device"]  # type: ignore[index]
    assert isinstance(replayed, Replayed)
    assert isinstance(ghost, AlarmError) and ghost.status == 401
    # the distinct presses in one transaction, the repeats in the next
    assert raiser.batches == 2 and raiser.raised == 4

    conn = await asyncpg.connect(db_url)
    try:
        alarms = await conn.fetch("SELECT device_id, idempotency_key FROM panic_alarms")
        raised = await conn.fetch("SELECT subject_id FROM events WHERE kind = 'alarm.raised'"
                                  " ORDER BY id")
        outbox = await conn.fetchval("SELECT count(*) FROM alarm_notifications")
        contacts = await conn.fetchval(
            "SELECT sum(jsonb_array_length(contacts)) FROM devices WHERE id = ANY($1::int[])",
            ids)
    finally:
        await conn.close()
    assert sorted((a["device_id"], a["idempotency_key"]) for a in alarms) == sorted(
        (d, f"press-{d}") for d in ids)
    assert sorted(int(r["subject_id"]) for r in raised) == sorted(
        m[0]["id"] for m in made)  # type: ignore[index]
    assert outbox == contacts  # one message per contact of each owner


async def test_a_press_that_fails_in_postgres_does_not_fail_its_batch(
        raiser: AlarmRaiser, db_url: str) -> None:
    ids = await _devices(db_url)
    # the table's CHECK refuses this key (the route never lets it through)
    bad = raiser.submit(ids[0], "not a key!", signature="sig-bad", actor="device:t")
    good = [raiser.submit(d, f"ok-{d}", signature=f"sig-ok-{d}", actor="device:t")
            for d in ids[1:]]
    failed, *fine = await asyncio.gather(bad, *good, return_exceptions=True)
    assert isinstance(failed, asyncpg.CheckViolationError)
    assert all(isinstance(f, tuple) and f[1] is True for f in fine)
    # the bad press's signature was not spent: its transaction rolled back
    conn = await asyncpg.connect(db_url)
    try:
        spent = await conn.fetchval(
            "SELECT count(*) FROM device_request_nonces WHERE signature = 'sig-bad'")
    finally:
        await conn.close()
    assert spent == 0
