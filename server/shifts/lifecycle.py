"""Opening and closing a shift: planned -> open -> closed, by a supervisor.

One shift is open at a time (the room has one supervisor in charge), a shift
opens from an hour before its start until its end, and it cannot open while the
handover addressed to it is unacknowledged. Closing writes the handover first
(its own transaction and event) and then closes, so a close that fails leaves a
handover that the retry rewrites rather than a closed shift without a note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from db import events
from server.shifts.actors import Actor, require_supervisor
from server.shifts.clock import EARLY, utcnow
from server.shifts.errors import ShiftError
from server.shifts.handover import write_handover
from server.shifts.staffing import reconcile, shortfall, staffing
from server.shifts.store import get_shift, open_shift_row


async def open_shift(shift_id: int, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    require_supervisor(actor, "open a shift")
    now = now or utcnow()
    async with in_transaction() as tx:
        # Serialise all opens: "one open shift" is a rule across rows.
        await tx.execute_query("SELECT pg_advisory_xact_lock($1)", [0x7368696674])  # "shift"
        shift = await get_shift(tx, shift_id, lock=True)
        if shift.status != "planned":
            raise ShiftError(f"shift {shift.label} is already {shift.status}", "conflict")
        start, end = shift.window
        if not start - EARLY <= now < end:
            raise ShiftError(f"{shift.label} runs {start:%Y-%m-%d %H:%M} to "
                             f"{end:%Y-%m-%d %H:%M} UTC; it opens at most an hour early",
                             "conflict", "shift")
        running = await open_shift_row(tx)
        if running is not None:
            raise ShiftError(f"shift {running.label} is still open: close it first", "conflict")
        pending = await tx.execute_query_dict(
            "SELECT id FROM shift_handovers WHERE next_shift_id = $1"
            " AND acknowledged_at IS NULL", [shift.id])
        if pending:
            raise ShiftError(f"acknowledge handover {pending[0]['id']} before opening "
                             f"{shift.label}", "conflict", "handover")
        await tx.execute_query(
            "UPDATE shifts SET status = 'open', opened_at = $2, opened_by_id = $3 WHERE id = $1",
            [shift.id, now, actor.id])
        lines = await staffing(tx, shift)
        payload = {"shift": shift.label, "staffing": [s.to_json() for s in lines],
                   "via": actor.via}
        await events.append(tx, "shift.opened", "shift", shift.id, actor.label, payload)
    await reconcile(shift.id, actor.label)
    return payload | {"shift_id": shift.id, "shortfall": shortfall("open", lines)}


async def close_shift(shift_id: int, actor: Actor, notes: str = "", *,
                      now: datetime | None = None) -> dict[str, Any]:
    """Write the handover, then close; the shift's warning ends with it."""
    require_supervisor(actor, "close a shift")
    now = now or utcnow()
    note = await write_handover(shift_id, actor, notes, now=now)
    async with in_transaction() as tx:
        shift = await get_shift(tx, shift_id, lock=True)
        if shift.status != "open":
            raise ShiftError(f"shift {shift.label} is {shift.status}, not open", "conflict")
        await tx.execute_query(
            "UPDATE shifts SET status = 'closed', closed_at = $2, closed_by_id = $3,"
            " understaffed_since = NULL, shortfall = '{}' WHERE id = $1",
            [shift.id, now, actor.id])
        # Who never checked out is checked out by the close, so attendance ends.
        await tx.execute_query(
            "UPDATE shift_assignments SET checked_out_at = $2"
            " WHERE shift_id = $1 AND checked_in_at IS NOT NULL AND checked_out_at IS NULL",
            [shift.id, now])
        payload = {"shift": shift.label, "handover_id": note["id"],
                   "next_shift_id": note["next_shift_id"], "understaffed": False,
                   "via": actor.via}
        await events.append(tx, "shift.closed", "shift", shift.id, actor.label, payload)
    return payload | {"shift_id": shift.id, "handover": note}
