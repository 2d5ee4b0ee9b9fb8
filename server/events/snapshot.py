"""What a screen gets instead of a replay it is too far behind for.

A client whose `since=` is more than `PANTAU_REPLAY_WINDOW` events back (or 0) is
sent a `resync` frame carrying the current state its screen is built from, then
the live events after it (server/events/routes.py): what it would otherwise have
to fetch again after events it will not be sent.
"""

from __future__ import annotations

from typing import Any

from db.orm import conn
from server.auth import Principal
from server.board import board, wall_summary
from server.events import visibility
from server.tickets import queue


async def snapshot_for(principal: Principal, pool: Any) -> dict[str, Any]:
    """A wall: the wall's board and strip; an operator: the board; department
    staff: their department's open queue (first page)."""
    if principal.kind == "wall":
        return {"board": visibility.wall_board(await board()),
                "summary": await wall_summary(pool)}
    if principal.is_operator:
        return {"board": await board()}
    if "department" not in principal.roles or principal.department_id is None:
        return {}  # sees no events, so nothing to catch up on
    q = await queue.parse(conn(), {})
    q.department_id = principal.department_id
    return {"tickets": await queue.page(conn(), q)}
