"""What a console, the API and the CLI show about shifts (plain JSON-able dicts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tortoise import connections

from server.shifts.clock import slot_for, utcnow
from server.shifts.handover import handovers
from server.shifts.roster import roster
from server.shifts.staffing import shortfall, staffing
from server.shifts.store import (
    ShiftRow,
    find_shift,
    get_shift,
    open_shift_row,
    shifts_on,
    templates,
)


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime | date) else v


async def shift_view(shift: ShiftRow, *, with_roster: bool = True) -> dict[str, Any]:
    conn = connections.get("default")
    start, end = shift.window
    lines = await staffing(conn, shift)
    view: dict[str, Any] = {
        "id": shift.id, "template": shift.template, "name": shift.template_name,
        "day": shift.day.isoformat(), "status": shift.status,
        "starts_at": start.isoformat(), "ends_at": end.isoformat(),
        "opened_at": _iso(shift.opened_at), "opened_by": shift.opened_by,
        "closed_at": _iso(shift.closed_at), "closed_by": shift.closed_by,
        "staffing": [s.to_json() for s in lines],
        "shortfall": shortfall(shift.status, lines),
        "understaffed": shift.understaffed_since is not None,
        "understaffed_since": _iso(shift.understaffed_since),
        "incoming_handovers": [h for h in await handovers(shift_id=shift.id, pending_only=True)
                               if h["next_shift_id"] == shift.id],
    }
    if with_roster:
        view["roster"] = [{k: _iso(v) for k, v in r.items()}
                          for r in await roster(conn, shift.id)]
    return view


async def current(now: datetime | None = None) -> dict[str, Any]:
    """The open shift if there is one; otherwise the shift the clock says it is.

    When that shift has not been planned yet the answer says so (`id` null,
    status "unplanned") rather than inventing a row.
    """
    conn = connections.get("default")
    running = await open_shift_row(conn)
    if running is not None:
        return await shift_view(running)
    tpls = await templates(conn)
    code, day = slot_for(now or utcnow(), [(t["code"], t["starts_at"], t["ends_at"])
                                           for t in tpls])
    found = await find_shift(conn, code, day)
    if found is not None:
        return await shift_view(found)
    return {"id": None, "template": code, "day": day.isoformat(), "status": "unplanned",
            "staffing": [], "shortfall": {}, "understaffed": False, "roster": [],
            "incoming_handovers": []}


async def day_view(day: date) -> list[dict[str, Any]]:
    conn = connections.get("default")
    return [await shift_view(s, with_roster=False) for s in await shifts_on(conn, day)]


async def by_id(shift_id: int) -> dict[str, Any]:
    return await shift_view(await get_shift(connections.get("default"), shift_id))
