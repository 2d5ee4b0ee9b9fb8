"""Reading shift rows inside a transaction (with their template's times)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.shifts.clock import window
from server.shifts.errors import ShiftError

_SHIFT_SQL = """
SELECT s.id, s.day, s.status, s.template_id, t.code AS template, t.name AS template_name,
       t.starts_at, t.ends_at, t.timezone, s.opened_at, s.closed_at,
       s.understaffed_since, s.shortfall,
       op.username AS opened_by, cl.username AS closed_by
FROM shifts s
JOIN shift_templates t ON t.id = s.template_id
LEFT JOIN people op ON op.id = s.opened_by_id
LEFT JOIN people cl ON cl.id = s.closed_by_id
"""


def as_json(value: Any) -> Any:
    """jsonb arrives as text or as a decoded value depending on the connection's codecs."""
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class ShiftRow:
    id: int
    day: date
    status: str
    template_id: int
    template: str
    template_name: str
    starts_at: time
    ends_at: time
    timezone: str
    opened_at: datetime | None
    closed_at: datetime | None
    understaffed_since: datetime | None
    shortfall: dict[str, int]
    opened_by: str | None
    closed_by: str | None

    @property
    def window(self) -> tuple[datetime, datetime]:
        return window(self.day, self.starts_at, self.ends_at, self.timezone)

    @property
    def label(self) -> str:
        return f"{self.template} {self.day.isoformat()}"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ShiftRow:
        return cls(**{**row, "shortfall": as_json(row["shortfall"]) or {}})


async def get_shift(conn: BaseDBAsyncClient, shift_id: int, *, lock: bool = False) -> ShiftRow:
    """The shift, optionally locked FOR UPDATE so concurrent changes serialise."""
    sql = _SHIFT_SQL + " WHERE s.id = $1" + (" FOR UPDATE OF s" if lock else "")
    rows = await conn.execute_query_dict(sql, [shift_id])
    if not rows:
        raise ShiftError(f"no shift {shift_id}", "not_found", "shift")
    return ShiftRow.from_row(rows[0])


async def find_shift(conn: BaseDBAsyncClient, template: str, day: date) -> ShiftRow | None:
    rows = await conn.execute_query_dict(_SHIFT_SQL + " WHERE t.code = $1 AND s.day = $2",
                                         [template, day])
    return ShiftRow.from_row(rows[0]) if rows else None


async def shifts_on(conn: BaseDBAsyncClient, day: date) -> list[ShiftRow]:
    rows = await conn.execute_query_dict(
        _SHIFT_SQL + " WHERE s.day = $1 ORDER BY t.starts_at", [day])
    return [ShiftRow.from_row(r) for r in rows]


async def open_shift_row(conn: BaseDBAsyncClient) -> ShiftRow | None:
    rows = await conn.execute_query_dict(
        _SHIFT_SQL + " WHERE s.status = 'open' ORDER BY s.opened_at DESC LIMIT 1", [])
    return ShiftRow.from_row(rows[0]) if rows else None


async def templates(conn: BaseDBAsyncClient) -> list[dict[str, Any]]:
    return await conn.execute_query_dict(
        "SELECT id, code, name, starts_at, ends_at, timezone FROM shift_templates"
        " ORDER BY starts_at", [])
