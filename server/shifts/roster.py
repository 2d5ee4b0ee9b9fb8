"""Who works when: planning a shift, assigning people, and supervisor-approved swaps.

A swap keeps the count per role on both shifts (each person takes the other's
place in the role they hold there), so a roster that met its minimums still does.
Nobody who has already checked in can be swapped or moved: they are on duty.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db import events
from db.models import SHIFT_ROLES
from server.shifts.actors import Actor, require_supervisor
from server.shifts.errors import ShiftError
from server.shifts.staffing import reconcile
from server.shifts.store import ShiftRow, find_shift, get_shift

_ROSTER_SQL = """
SELECT a.id, a.role, p.id AS person_id, p.username, p.full_name,
       a.checked_in_at, a.checked_out_at, sw.username AS swapped_from
FROM shift_assignments a
JOIN people p ON p.id = a.person_id
LEFT JOIN people sw ON sw.id = a.swapped_from_id
WHERE a.shift_id = $1
ORDER BY array_position($2::text[], a.role), p.username
"""


async def roster(conn: BaseDBAsyncClient, shift_id: int) -> list[dict[str, Any]]:
    return await conn.execute_query_dict(_ROSTER_SQL, [shift_id, list(SHIFT_ROLES)])


async def person_by_username(conn: BaseDBAsyncClient, username: str, field: str) -> dict[str, Any]:
    rows = await conn.execute_query_dict(
        "SELECT id, username, roles, active FROM people WHERE username = $1",
        [username.strip().lower()])
    if not rows or not rows[0]["active"]:
        raise ShiftError(f"no active person {username!r}", "not_found", field)
    return rows[0]


async def _assignment(conn: BaseDBAsyncClient, shift_id: int,
                      person_id: int) -> dict[str, Any] | None:
    rows = await conn.execute_query_dict(
        "SELECT id, role, checked_in_at FROM shift_assignments"
        " WHERE shift_id = $1 AND person_id = $2 FOR UPDATE", [shift_id, person_id])
    return rows[0] if rows else None


def _not_closed(shift: ShiftRow) -> None:
    if shift.status == "closed":
        raise ShiftError(f"shift {shift.label} is closed", "conflict", "shift")


async def plan_shift(template: str, day: date, actor: Actor) -> ShiftRow:
    """Create the (template, day) shift if it does not exist yet; returns it either way."""
    require_supervisor(actor, "plan shifts")
    async with in_transaction() as tx:
        existing = await find_shift(tx, template, day)
        if existing is not None:
            return existing
        tpl = await tx.execute_query_dict(
            "SELECT id FROM shift_templates WHERE code = $1", [template])
        if not tpl:
            raise ShiftError(f"no shift template {template!r}", "not_found", "template")
        rows = await tx.execute_query_dict(
            "INSERT INTO shifts (template_id, day) VALUES ($1, $2)"
            " ON CONFLICT (template_id, day) DO NOTHING RETURNING id", [tpl[0]["id"], day])
        if not rows:  # created concurrently
            found = await find_shift(tx, template, day)
            assert found is not None
            return found
        await events.append(tx, "shift.planned", "shift", rows[0]["id"], actor.label,
                            {"shift": f"{template} {day.isoformat()}", "via": actor.via})
    async with in_transaction() as tx:
        return await get_shift(tx, rows[0]["id"])


async def assign(shift_id: int, username: str, role: str | None, actor: Actor) -> dict[str, Any]:
    """Put a person on a shift in one of their roles (their first shift role by default)."""
    require_supervisor(actor, "change the roster")
    if role is not None and role not in SHIFT_ROLES:
        raise ShiftError(f"role must be one of: {', '.join(SHIFT_ROLES)}", "invalid", "role")
    async with in_transaction() as tx:
        shift = await get_shift(tx, shift_id, lock=True)
        _not_closed(shift)
        person = await person_by_username(tx, username, "person")
        held = [r for r in SHIFT_ROLES if r in person["roles"]]
        if role is None:
            if not held:
                raise ShiftError(f"{person['username']} holds no shift role", "invalid", "role")
            role = held[0]
        elif role not in person["roles"]:
            raise ShiftError(f"{person['username']} does not hold the role {role}",
                             "invalid", "role")
        if await _assignment(tx, shift.id, person["id"]) is not None:
            raise ShiftError(f"{person['username']} is already on {shift.label}",
                             "conflict", "person")
        await tx.execute_query(
            "INSERT INTO shift_assignments (shift_id, person_id, role, assigned_by_id)"
            " VALUES ($1, $2, $3, $4)", [shift.id, person["id"], role, actor.id])
        payload = {"shift": shift.label, "person": person["username"], "role": role,
                   "via": actor.via}
        await events.append(tx, "shift.assigned", "shift", shift.id, actor.label, payload)
    return payload


async def _handed_over(tx: Any, shift: Any, leaving: dict[str, Any],
                       arriving: dict[str, Any], fields: tuple[str, str]) -> dict[str, Any]:
    """`leaving`'s assignment on `shift`, checked that `arriving` may take it over:
    rostered, not yet checked in, a role `arriving` holds, `arriving` not already on it.
    `fields` names (leaving, arriving) in the error."""
    held = await _assignment(tx, shift.id, leaving["id"])
    if held is None:
        raise ShiftError(f"{leaving['username']} is not on {shift.label}", "conflict", fields[0])
    if held["checked_in_at"] is not None:
        raise ShiftError(f"{leaving['username']} has checked in to {shift.label}",
                         "conflict", fields[0])
    if held["role"] not in arriving["roles"]:
        raise ShiftError(f"{arriving['username']} does not hold the role {held['role']}",
                         "invalid", fields[1])
    if await _assignment(tx, shift.id, arriving["id"]) is not None:
        raise ShiftError(f"{arriving['username']} is already on {shift.label}",
                         "conflict", fields[1])
    return held


async def swap(shift_id: int, out_username: str, in_username: str, actor: Actor, *,
               other_shift_id: int | None = None, reason: str = "") -> dict[str, Any]:
    """Replace `out` on this shift by `in`, or exchange them between two shifts.

    Without `other_shift_id`, `in` takes `out`'s place and role (a replacement).
    With it, `in` must be on the other shift and the two exchange places. The
    supervisor making the call is the approval, recorded in the event.
    """
    require_supervisor(actor, "approve swaps")
    if len(reason) > 500:
        raise ShiftError("reason: at most 500 characters", "invalid", "reason")
    if other_shift_id == shift_id:
        raise ShiftError("the other shift must be a different shift", "invalid", "other_shift")
    async with in_transaction() as tx:
        # Lock in id order so two swaps across the same pair cannot deadlock.
        ids = sorted({shift_id, other_shift_id or shift_id})
        locked = {i: await get_shift(tx, i, lock=True) for i in ids}
        shift = locked[shift_id]
        _not_closed(shift)
        out_p = await person_by_username(tx, out_username, "out")
        in_p = await person_by_username(tx, in_username, "in")
        if out_p["id"] == in_p["id"]:
            raise ShiftError("cannot swap a person with themselves", "invalid", "in")
        out_a = await _handed_over(tx, shift, out_p, in_p, ("out", "in"))
        payload: dict[str, Any] = {
            "shift": shift.label, "out": out_p["username"], "in": in_p["username"],
            "role": out_a["role"], "approved_by": actor.username, "reason": reason,
            "via": actor.via}
        if other_shift_id is not None:
            other = locked[other_shift_id]
            _not_closed(other)
            in_a = await _handed_over(tx, other, in_p, out_p, ("in", "out"))
            await tx.execute_query(
                "UPDATE shift_assignments SET person_id = $2, swapped_from_id = $3,"
                " assigned_by_id = $4 WHERE id = $1",
                [in_a["id"], out_p["id"], in_p["id"], actor.id])
            payload |= {"other_shift": other.label, "other_shift_id": other.id,
                        "other_role": in_a["role"]}
        await tx.execute_query(
            "UPDATE shift_assignments SET person_id = $2, swapped_from_id = $3,"
            " assigned_by_id = $4 WHERE id = $1",
            [out_a["id"], in_p["id"], out_p["id"], actor.id])
        await events.append(tx, "shift.swapped", "shift", shift.id, actor.label, payload)
    # Nobody present moved, so staffing is unchanged; reconcile anyway in case a
    # previous change was interrupted between its commit and its reconcile.
    await reconcile(shift_id, actor.label)
    return payload
