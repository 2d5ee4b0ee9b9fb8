"""Staffing against the minimums per role, and the understaffed warning.

A planned shift is judged by its roster (who is assigned); an open shift by who
is present (checked in and not out). Only an OPEN shift below its minimums is
"understaffed": reconcile() records that on the shift row and emits
shift.understaffed once per episode (and again when the shortfall changes), then
shift.staffed when it is fixed, so every console can show the warning until then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db import events
from db.models import SHIFT_ROLES
from server.shifts.store import ShiftRow, get_shift

_STAFFING_SQL = """
SELECT r.role, COALESCE(m.minimum, 0) AS minimum,
       count(a.id) AS rostered,
       count(a.id) FILTER (WHERE a.checked_in_at IS NOT NULL
                             AND a.checked_out_at IS NULL) AS present
FROM unnest($3::text[]) WITH ORDINALITY AS r(role, ord)
LEFT JOIN staffing_minimums m ON m.template_id = $2 AND m.role = r.role
LEFT JOIN shift_assignments a ON a.shift_id = $1 AND a.role = r.role
GROUP BY r.role, r.ord, m.minimum
ORDER BY r.ord
"""


@dataclass(frozen=True)
class RoleStaffing:
    role: str
    minimum: int
    rostered: int
    present: int

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "minimum": self.minimum, "rostered": self.rostered,
                "present": self.present}


async def staffing(conn: BaseDBAsyncClient, shift: ShiftRow) -> list[RoleStaffing]:
    rows = await conn.execute_query_dict(
        _STAFFING_SQL, [shift.id, shift.template_id, list(SHIFT_ROLES)])
    return [RoleStaffing(r["role"], int(r["minimum"]), int(r["rostered"]), int(r["present"]))
            for r in rows]


def shortfall(status: str, lines: list[RoleStaffing]) -> dict[str, int]:
    """Missing people per role: by presence when open, by roster otherwise."""
    counted = (lambda s: s.present) if status == "open" else (lambda s: s.rostered)
    return {s.role: s.minimum - counted(s) for s in lines if counted(s) < s.minimum}


async def reconcile(shift_id: int, actor: str) -> str | None:
    """Bring the shift's understaffed state up to date; returns the event kind emitted.

    Its own transaction, after the change that moved people: the shift row is
    locked so two check-ins at once cannot both miss the transition.
    """
    async with in_transaction() as tx:
        shift = await get_shift(tx, shift_id, lock=True)
        lines = await staffing(tx, shift)
        short = shortfall(shift.status, lines) if shift.status == "open" else {}
        if short:
            if shift.understaffed_since is not None and short == shift.shortfall:
                return None
            await tx.execute_query(
                "UPDATE shifts SET understaffed_since = COALESCE(understaffed_since, now()),"
                " shortfall = $2::jsonb WHERE id = $1", [shift.id, json.dumps(short)])
            kind = "shift.understaffed"
        else:
            if shift.understaffed_since is None:
                return None
            await tx.execute_query(
                "UPDATE shifts SET understaffed_since = NULL, shortfall = '{}' WHERE id = $1",
                [shift.id])
            kind = "shift.staffed"
        await events.append(tx, kind, "shift", shift.id, actor,
                            {"shift": shift.label, "shortfall": short,
                             "staffing": [s.to_json() for s in lines]})
    return kind
