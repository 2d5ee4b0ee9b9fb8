"""The ticket lifecycle: which action may happen in which status, and what it changes.

    new -> triaged -> routed -> acknowledged -> in_progress -> resolved -> closed
    new/triaged/routed -> rejected;  resolved/closed/rejected -> reopen
    routed/acknowledged -> refuse (back to the center, flagged)
    any open status -> merged (duplicates.py) and back (unmerge)

An action in the wrong status answers 409 `invalid_transition`; a stale version
answers 409 `stale_version`; in both cases nothing is written. Department staff
may only acknowledge, start, resolve and refuse tickets routed to them; every
other action belongs to the command center.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from server.auth import Principal, forbidden
from server.errors import bad_request, conflict
from server.tickets import places, store
from server.tickets.deadlines import with_due_times
from server.tickets.notes import insert_note
from server.tickets.sla import OPEN_STATUSES

# action -> statuses it may start from
FROM: dict[str, tuple[str, ...]] = {
    "triage": OPEN_STATUSES,
    "route": OPEN_STATUSES,
    "acknowledge": ("routed",),
    "start": ("acknowledged",),
    "resolve": ("acknowledged", "in_progress"),
    "close": ("resolved",),
    "reject": ("new", "triaged", "routed"),
    "reopen": ("resolved", "closed", "rejected"),
    "refuse": ("routed", "acknowledged"),
    "pause": OPEN_STATUSES,
    "resume": OPEN_STATUSES,
}
DEPARTMENT_ACTIONS = frozenset({"acknowledge", "start", "resolve", "refuse"})
STATUS_ACTIONS = ("acknowledge", "start", "resolve", "close", "reject", "reopen", "refuse",
                  "pause", "resume")
# Which event kind each action appends.
KINDS = {"triage": "ticket.triaged", "route": "ticket.routed", "refuse": "ticket.refused"}
MAX_TAGS = 10


def _authorise(principal: Principal | None, action: str) -> None:
    if principal is None or principal.is_operator:
        return
    if "department" in principal.roles and action in DEPARTMENT_ACTIONS:
        return
    raise forbidden(f"department staff may not {action} a ticket")


def _author(principal: Principal | None) -> int | None:
    return principal.id if principal is not None and principal.kind == "person" else None


def _actor(principal: Principal | None) -> str:
    return principal.actor if principal is not None else "system:pantau"


async def triage(ticket_id: int, principal: Principal | None, version: int, *,
                 priority: int | None = None, category: str | None = None,
                 district: str | None = None, tags: list[str] | None = None) -> dict[str, Any]:
    """Set priority, category, district and tags; a new ticket becomes triaged.

    The suggested department follows the new category and district by itself
    (routing.py); a priority or policy change recomputes the due times.
    """
    _authorise(principal, "triage")
    if tags is not None and len(tags) > MAX_TAGS:
        raise bad_request(f"at most {MAX_TAGS} tags", {"tags": f"at most {MAX_TAGS}"})
    async with in_transaction() as tx:
        row = await store.locked(tx, ticket_id, principal, version)
        store.require_status(row, FROM["triage"], "triage")
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        if priority is not None:
            values["priority"] = priority
        if category is not None:
            cat = await places.category(tx, category)
            if cat is None:
                errors["category"] = f"unknown category {category!r}"
            else:
                values["category_id"] = cat["id"]
        if district is not None:
            dis = await places.district(tx, district)
            if dis is None:
                errors["district"] = f"unknown district {district!r}"
            else:
                values["district_id"] = dis["id"]
        if errors:
            raise bad_request("invalid fields: " + ", ".join(sorted(errors)), errors)
        if tags is not None:
            values["tags"] = tags
        if row["status"] == "new":
            values["status"] = "triaged"
        values = await with_due_times(tx, row, values)
        await store.update(tx, ticket_id, values)
        return await store.commit(tx, row, ticket_id, "ticket.triaged", _actor(principal))


async def route(ticket_id: int, principal: Principal | None, version: int,
                department: str | None = None) -> dict[str, Any]:
    """Send the ticket to a department (the suggestion when none is named).

    Re-routing an acknowledged or started ticket sends it back to `routed`: the
    new department has to acknowledge it itself. The refusal flag is cleared.
    Routing starts the department's clock (a complaint's answer is due in its
    working days from now); it changes hands, so it ends a pause.
    """
    _authorise(principal, "route")
    async with in_transaction() as tx:
        row = await store.locked(tx, ticket_id, principal, version)
        store.require_status(row, FROM["route"], "route")
        if department is None:
            dept_id = row["suggested_department_id"]
            if dept_id is None:
                raise bad_request("this ticket has no suggested department: name one",
                                  {"department": "required (no suggestion)"})
        else:
            dept = await places.department(tx, department)
            if dept is None:
                raise bad_request(f"unknown department {department!r}",
                                  {"department": "unknown"})
            dept_id = dept["id"]
        if dept_id == row["department_id"] and row["status"] == "routed":
            raise conflict("the ticket is already routed to that department",
                           "invalid_transition")
        now = datetime.now(UTC)
        values: dict[str, Any] = _resumed(row, now) if row["sla_paused_at"] is not None else {}
        values |= {"department_id": dept_id, "status": "routed", "acknowledged_at": None,
                   "flagged": False, "routed_at": now,
                   "routed_paused_seconds": values.get("sla_paused_seconds",
                                                       row["sla_paused_seconds"])}
        values = await with_due_times(tx, row, values)
        await store.update(tx, ticket_id, values)
        return await store.commit(tx, row, ticket_id, "ticket.routed", _actor(principal),
                                  previous_department_id=row["department_id"])


async def act(ticket_id: int, action: str, principal: Principal | None, version: int, *,
              note: str = "", reason: str = "") -> dict[str, Any]:
    """One of STATUS_ACTIONS. `note` is kept as a ticket note; `reason` is required
    for reject (it becomes the close reason) and refuse."""
    if action not in STATUS_ACTIONS:
        raise ValueError(action)
    _authorise(principal, action)
    if "\x00" in reason:
        raise bad_request("reason must not contain NUL characters",
                          {"reason": "must not contain NUL characters"})
    if action in ("reject", "refuse") and not reason:
        raise bad_request(f"{action} needs a reason", {"reason": "required"})
    if action == "resolve" and not note:
        raise bad_request("resolve needs a note saying what was done", {"note": "required"})
    now = datetime.now(UTC)
    async with in_transaction() as tx:
        row = await store.locked(tx, ticket_id, principal, version)
        store.require_status(row, FROM[action], action)
        values = _status_values(row, action, now, reason)
        if action in ("refuse", "reopen"):
            values = await with_due_times(tx, row, values)
        await store.update(tx, ticket_id, values)
        extra: dict[str, Any] = {"action": action}
        text = note
        if action == "refuse":
            text = f"Ditolak oleh dinas / refused by the department: {reason}" + (
                f"\n{note}" if note else "")
            extra["reason"] = reason
            extra["refused_by_department_id"] = row["department_id"]
        elif reason:
            extra["reason"] = reason
        if text:
            extra["note"] = await insert_note(tx, ticket_id, _author(principal), text)
        kind = KINDS.get(action, "ticket.status_changed")
        return await store.commit(tx, row, ticket_id, kind, _actor(principal), **extra)


def _status_values(row: dict[str, Any], action: str, now: datetime,
                   reason: str) -> dict[str, Any]:
    paused = row["sla_paused_at"]
    if action == "pause":
        if paused is not None:
            raise conflict("the SLA clock is already paused", "invalid_transition")
        return {"sla_paused_at": now}
    if action == "resume":
        if paused is None:
            raise conflict("the SLA clock is not paused", "invalid_transition")
        return _resumed(row, now)
    # Leaving the open statuses (or changing hands) ends a pause.
    values: dict[str, Any] = _resumed(row, now) if paused is not None else {}
    if action == "acknowledge":
        values |= {"status": "acknowledged", "acknowledged_at": now}
    elif action == "start":
        values |= {"status": "in_progress"}
    elif action == "resolve":
        values |= {"status": "resolved", "resolved_at": now}
    elif action == "close":
        values |= {"status": "closed", "closed_at": now}
    elif action == "reject":
        values |= {"status": "rejected", "close_reason": reason, "closed_at": now}
    elif action == "reopen":
        # Both clocks start again: the reopen is a new submission, and the
        # department it goes back to gets its time from now.
        values |= {"status": "routed" if row["department_id"] else "triaged",
                   "acknowledged_at": None, "resolved_at": None, "closed_at": None,
                   "close_reason": "", "sla_started_at": now, "sla_paused_seconds": 0,
                   "routed_at": now if row["department_id"] else None,
                   "routed_paused_seconds": 0}
    elif action == "refuse":
        values |= {"status": "triaged", "department_id": None, "acknowledged_at": None,
                   "flagged": True, "routed_at": None, "routed_paused_seconds": 0}
    return values


def _resumed(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Un-pause: due times move by the time spent waiting on the reporter."""
    waited = now - row["sla_paused_at"]
    out: dict[str, Any] = {
        "sla_paused_at": None,
        "sla_paused_seconds": row["sla_paused_seconds"] + int(waited.total_seconds())}
    if row["ack_due_at"] is not None:
        out["ack_due_at"] = row["ack_due_at"] + waited
    if row["resolve_due_at"] is not None:
        out["resolve_due_at"] = row["resolve_due_at"] + waited
    return out
