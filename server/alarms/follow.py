"""An alarm's P1 ticket follows the alarm, through the tickets' own lifecycle.

    alarm acknowledged          -> ticket triaged (someone is on it)
    alarm dispatched            -> ticket in_progress (routed to the suggested
                                   department, acknowledged, started: the unit is out)
    alarm resolved/false_alarm  -> ticket resolved, the outcome as its note

Each step is an ordinary ticket action (server/tickets/lifecycle.py: triage,
route, acknowledge, start, resolve) with its usual event, run inside the alarm's
own transaction (the tickets' transactions nest as savepoints), so the alarm
and its ticket change together or not at all. A ticket an operator has already
taken further, closed, rejected or merged is left as it is. A step the ticket
cannot take (no department answers for its category) leaves the ticket where
it got to and is logged: the alarm, which is what saves the life, still moves.
"""

from __future__ import annotations

import logging
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.auth import Principal
from server.errors import ApiError
from server.tickets import lifecycle

log = logging.getLogger("pantau.alarms")

# The ticket's way through its lifecycle, and how far each alarm status takes it.
ORDER = ("new", "triaged", "routed", "acknowledged", "in_progress", "resolved")
TARGET = {"acknowledged": "triaged", "dispatched": "in_progress", "resolved": "resolved",
          "false_alarm": "resolved"}


def outcome_note(alarm: dict[str, Any]) -> str:
    """The resolved ticket's note: how the alarm ended, and the operator's words."""
    outcome = ("alarm palsu / false alarm" if alarm["status"] == "false_alarm"
               else "selesai ditangani / resolved")
    note = (alarm.get("resolution_note") or "").strip()
    return f"Alarm #{alarm['id']}: {outcome}" + (f". {note}" if note else "")


def dispatch_note(alarm: dict[str, Any]) -> str:
    unit = (alarm.get("dispatch_unit") or "").strip()
    note = (alarm.get("dispatch_note") or "").strip()
    return (f"Alarm #{alarm['id']}: unit dikirim / unit dispatched: {unit or '-'}"
            + (f". {note}" if note else ""))


def _next_action(status: str, target: str) -> str:
    if status == "new":
        return "triage"
    if status == "triaged":
        return "route"
    if status == "routed":
        return "acknowledge"
    if status == "acknowledged" and target == "in_progress":
        return "start"
    return "resolve"  # acknowledged or in_progress, towards resolved


async def follow(tx: BaseDBAsyncClient, alarm: dict[str, Any],
                 principal: Principal | None) -> list[dict[str, Any]]:
    """Bring the alarm's ticket as far as the alarm's status says, in `tx`;
    returns the ticket after each step taken."""
    target = TARGET.get(alarm["status"])
    ticket_id = alarm.get("ticket_id")
    if target is None or ticket_id is None:
        return []
    done: list[dict[str, Any]] = []
    while True:
        rows = await tx.execute_query_dict(
            "SELECT status, version FROM tickets WHERE id = $1 FOR UPDATE", [ticket_id])
        status, version = rows[0]["status"], rows[0]["version"]
        if status not in ORDER or ORDER.index(status) >= ORDER.index(target):
            return done  # there already, further on, or taken elsewhere by an operator
        action = _next_action(status, target)
        try:
            if action == "triage":
                ticket = await lifecycle.triage(ticket_id, principal, version)
            elif action == "route":
                ticket = await lifecycle.route(ticket_id, principal, version)
            else:
                note = {"start": dispatch_note(alarm),
                        "resolve": outcome_note(alarm)}.get(action, "")
                ticket = await lifecycle.act(ticket_id, action, principal, version, note=note)
        except ApiError as exc:
            log.error("alarm ticket did not follow the alarm", extra={
                "alarm_id": alarm["id"], "ticket_id": ticket_id, "action": action,
                "err": exc.text})
            return done
        done.append(ticket)
