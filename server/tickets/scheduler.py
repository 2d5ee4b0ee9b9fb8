"""The SLA scheduler: raises `ticket.sla_breached` when a deadline is missed.

It runs inside every server process (an aiohttp cleanup_ctx) and scans every
PANTAU_SLA_SCAN_SECONDS (default 30; 0 turns it off). Exactly-once per breach
holds even with several processes: the breach mark (ack_breached_at /
resolve_breached_at) is set under the ticket's row lock in the same
transaction as the event, and a ticket already marked is skipped. Resolved,
closed, rejected, merged and paused tickets never breach: the scan's predicate
is the same "deadline still running" rule as sla.py's.

The first scan waits one interval, so a freshly started process (or a short
test) is not flooded by breaches that happened while it was down; they are
raised one interval later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from tortoise.transactions import in_transaction

from db.orm import conn
from server.keys import settings_key
from server.tickets import sla, store

log = logging.getLogger("pantau.sla")
BATCH = 200

_DUE = f"""
SELECT t.id FROM tickets t
WHERE t.sla_paused_at IS NULL AND (
  (t.ack_breached_at IS NULL AND {sla.ACK_RUNNING_SQL} AND t.ack_due_at < $1)
  OR (t.resolve_breached_at IS NULL AND {sla.RESOLVE_RUNNING_SQL} AND t.resolve_due_at < $1))
ORDER BY t.id LIMIT {BATCH}
"""


async def _raise_one(ticket_id: int, now: datetime) -> dict[str, Any] | None:
    async with in_transaction() as tx:
        row = await store.locked(tx, ticket_id, None)
        if row["sla_paused_at"] is not None:
            return None
        missed: list[str] = []
        values: dict[str, Any] = {}
        if row["ack_breached_at"] is None and sla.ack_running(row) and row["ack_due_at"] < now:
            missed.append("ack")
            values["ack_breached_at"] = now
        if (row["resolve_breached_at"] is None and sla.resolve_running(row)
                and row["resolve_due_at"] < now):
            missed.append("resolve")
            values["resolve_breached_at"] = now
        if not missed:
            return None  # another process got there first, or the ticket moved on
        # Not a user edit: the version stays, so nobody's open form goes stale.
        await store.update(tx, ticket_id, values, bump_version=False)
        return await store.commit(tx, row, ticket_id, "ticket.sla_breached",
                                  "system:sla", action="sla_breached", missed=missed)


async def scan(now: datetime | None = None) -> int:
    """Raise every breach due by `now`; returns how many tickets breached."""
    now = now or datetime.now(UTC)
    raised = 0
    seen: set[int] = set()
    while True:
        rows = await conn().execute_query_dict(_DUE, [now])
        fresh = [r["id"] for r in rows if r["id"] not in seen]
        if not fresh:
            return raised
        for ticket_id in fresh:
            seen.add(ticket_id)
            if await _raise_one(ticket_id, now) is not None:
                raised += 1
        if len(rows) < BATCH:
            return raised


async def _loop(every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            n = await scan()
            if n:
                log.info("SLA breaches raised", extra={"count": n})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SLA scan failed; retrying next interval")


async def sla_scheduler(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the scan loop lives exactly as long as the application."""
    every = app[settings_key].sla_scan_seconds
    task = asyncio.create_task(_loop(every), name="pantau-sla") if every > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
