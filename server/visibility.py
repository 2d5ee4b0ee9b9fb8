"""Which events a subscriber may see, and what of them.

Operators see everything. Department staff see only events tagged with their
department. Wall displays see what a wall shows (alarms, cameras, monitors,
shift state and ticket counters) with personal data stripped: no reporters, no
staff names. Devices see nothing.
"""

from __future__ import annotations

import json
from typing import Any

from db.events import EventRecord
from server.auth import Principal

WALL_KINDS = ("alarm.", "camera.", "monitor.", "shift.", "ticket.")
# Ticket fields a wall may show: enough for counters and the SLA board, no
# reporter names, phone numbers or descriptions.
WALL_TICKET_FIELDS = ("status", "priority", "department_id", "district_id", "category",
                      "channel", "reference", "resolve_due_at", "ack_due_at")


# Shift fields a wall may show: the shift and its staffing counts, not who is on it.
WALL_SHIFT_FIELDS = ("shift", "role", "staffing", "shortfall", "handover_id", "status")


def may_see(principal: Principal, event: EventRecord) -> bool:
    if principal.kind == "person":
        if principal.is_operator:
            return True
        if "department" in principal.roles:
            return (event.department_id is not None
                    and event.department_id == principal.department_id)
        return False
    if principal.kind == "wall":
        return event.kind.startswith(WALL_KINDS)
    return False


def wire_for(principal: Principal, event: EventRecord) -> str:
    """The event message a subscriber that may see the event receives, as text."""
    if principal.kind == "wall" and event.kind.startswith(("ticket.", "shift.")):
        return json.dumps({"type": "event", **shape_for(principal, event)})
    return event.wire


def shape_for(principal: Principal, event: EventRecord) -> dict[str, Any]:
    """The JSON a subscriber receives for an event it may see."""
    data = event.to_json()
    if principal.kind == "wall" and event.kind.startswith(("ticket.", "shift.")):
        keep = WALL_TICKET_FIELDS if event.kind.startswith("ticket.") else WALL_SHIFT_FIELDS
        data["payload"] = {k: v for k, v in event.payload.items() if k in keep}
        data["actor"] = ""
    return data
