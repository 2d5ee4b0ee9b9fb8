"""Check-in and check-out: people say they are on duty; supervisors may do it for them.

Check-in opens an hour before the shift starts (people arrive before the
supervisor opens it) and closes when the shift ends. Each person checks in and
out once per shift: the times are the attendance record the reports use.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from db import events
from server.shifts.actors import Actor
from server.shifts.clock import EARLY, JAKARTA, utcnow, window
from server.shifts.errors import ShiftError
from server.shifts.roster import person_by_username
from server.shifts.staffing import reconcile
from server.shifts.store import ShiftRow, get_shift


async def _target(actor: Actor, username: str | None) -> dict[str, Any]:
    name = (username or actor.username).strip().lower()
    if name != actor.username and not actor.is_supervisor:
        raise ShiftError("only a supervisor may check someone else in or out", "forbidden")
    return await person_by_username(connections.get("default"), name, "person")


async def current_assignment_shift(person_id: int, now: datetime) -> int | None:
    """The shift this person is rostered on whose check-in window contains `now`."""
    today = now.astimezone(JAKARTA).date()
    rows = await connections.get("default").execute_query_dict(
        "SELECT s.id, s.day, t.starts_at, t.ends_at, t.timezone"
        " FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id"
        " JOIN shift_templates t ON t.id = s.template_id"
        " WHERE a.person_id = $1 AND s.status <> 'closed' AND s.day BETWEEN $2 AND $3"
        " ORDER BY s.day, t.starts_at", [person_id, today - timedelta(days=1), today])
    for row in rows:
        start, end = window(row["day"], row["starts_at"], row["ends_at"], row["timezone"])
        if start - EARLY <= now < end:
            return int(row["id"])
    return None


def _in_window(shift: ShiftRow, now: datetime) -> None:
    start, end = shift.window
    if not start - EARLY <= now < end:
        raise ShiftError(f"{shift.label} runs {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC;"
                         " check-in opens an hour before the start", "conflict", "shift")


async def check_in(actor: Actor, shift_id: int | None = None, username: str | None = None, *,
                   now: datetime | None = None) -> dict[str, Any]:
    """Mark a rostered person present; the actor themself unless a supervisor names someone."""
    now = now or utcnow()
    person = await _target(actor, username)
    if shift_id is None:
        shift_id = await current_assignment_shift(person["id"], now)
        if shift_id is None:
            raise ShiftError(f"{person['username']} is not rostered on a shift now",
                             "conflict", "shift")
    async with in_transaction() as tx:
        shift = await get_shift(tx, shift_id, lock=True)
        if shift.status == "closed":
            raise ShiftError(f"shift {shift.label} is closed", "conflict", "shift")
        _in_window(shift, now)
        rows = await tx.execute_query_dict(
            "SELECT id, role, checked_in_at FROM shift_assignments"
            " WHERE shift_id = $1 AND person_id = $2 FOR UPDATE", [shift.id, person["id"]])
        if not rows:
            raise ShiftError(f"{person['username']} is not on {shift.label}", "conflict", "person")
        if rows[0]["checked_in_at"] is not None:
            raise ShiftError(f"{person['username']} already checked in to {shift.label}",
                             "conflict", "person")
        await tx.execute_query(
            "UPDATE shift_assignments SET checked_in_at = $2 WHERE id = $1", [rows[0]["id"], now])
        payload = {"shift": shift.label, "person": person["username"], "role": rows[0]["role"],
                   "at": now.isoformat(), "via": actor.via}
        await events.append(tx, "shift.checked_in", "shift", shift.id, actor.label, payload)
    await reconcile(shift.id, actor.label)
    return payload | {"shift_id": shift.id}


async def check_out(actor: Actor, shift_id: int | None = None, username: str | None = None, *,
                    now: datetime | None = None) -> dict[str, Any]:
    """Mark a present person gone; an open shift may become understaffed by it."""
    now = now or utcnow()
    person = await _target(actor, username)
    async with in_transaction() as tx:
        where = "a.person_id = $1 AND a.checked_in_at IS NOT NULL AND a.checked_out_at IS NULL"
        params: list[Any] = [person["id"]]
        if shift_id is not None:
            where += " AND a.shift_id = $2"
            params.append(shift_id)
        rows = await tx.execute_query_dict(
            f"SELECT a.id, a.shift_id, a.role FROM shift_assignments a WHERE {where}"
            " ORDER BY a.checked_in_at DESC LIMIT 1 FOR UPDATE", params)
        if not rows:
            raise ShiftError(f"{person['username']} is not checked in"
                             + (f" to shift {shift_id}" if shift_id else ""), "conflict", "person")
        shift = await get_shift(tx, rows[0]["shift_id"], lock=True)
        await tx.execute_query(
            "UPDATE shift_assignments SET checked_out_at = $2 WHERE id = $1", [rows[0]["id"], now])
        payload = {"shift": shift.label, "person": person["username"], "role": rows[0]["role"],
                   "at": now.isoformat(), "via": actor.via}
        await events.append(tx, "shift.checked_out", "shift", shift.id, actor.label, payload)
    await reconcile(shift.id, actor.label)
    return payload | {"shift_id": shift.id}
