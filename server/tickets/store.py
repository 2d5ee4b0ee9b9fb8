"""Writing tickets: lock, check the version, update, and append the event last.

Every ticket change goes through `locked()` + `commit()` inside one
transaction, so the state rows and the event describing them exist together or
not at all, and the event append (which takes the event-log lock) is the last
statement. Department visibility: an event is tagged with the ticket's
department after the change (or before it, when the change took the ticket away
from its department, as refuse does). A re-route from one department to another
appends a second event, `ticket.routed_away`, tagged with the old department, so
its staff see the ticket leave their list; both events are in the same
transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db import events
from server.auth import Principal, forbidden
from server.errors import ApiError, conflict, not_found
from server.tickets.records import diff, event_payload, fetch_view, ticket_json

# Columns an action may set; anything else is a programming error.
WRITABLE = frozenset({
    "status", "priority", "category_id", "district_id", "department_id", "tags", "flagged",
    "close_reason", "ack_due_at", "resolve_due_at", "sla_paused_at", "sla_paused_seconds",
    "sla_started_at", "routed_at", "routed_paused_seconds",
    "ack_breached_at", "resolve_breached_at", "merged_into_id", "merged_from_status",
    "acknowledged_at", "resolved_at", "closed_at",
})


def may_view(principal: Principal, row: dict[str, Any]) -> bool:
    """Operators see every ticket; department staff only those routed to them."""
    if principal.is_operator:
        return True
    return ("department" in principal.roles and principal.department_id is not None
            and row["department_id"] == principal.department_id)


async def locked(tx: BaseDBAsyncClient, ticket_id: int, principal: Principal | None,
                 version: int | None = None) -> dict[str, Any]:
    """The ticket row, locked for this transaction, after the visibility and version checks.

    A ticket the caller may not see answers 404, as if it did not exist.
    """
    row = await fetch_view(tx, ticket_id, lock=True)
    if row is None or (principal is not None and not may_view(principal, row)):
        raise not_found("ticket")
    check_version(row, version)
    return row


def check_version(row: dict[str, Any], version: int | None) -> None:
    """Optimistic concurrency: the second of two writers from one version gets 409."""
    if version is not None and version != row["version"]:
        raise ApiError(409, "stale_version",
                       f"the ticket changed since you loaded it (version {version}, "
                       f"now {row['version']}); reload and try again")


def require_status(row: dict[str, Any], allowed: tuple[str, ...] | frozenset[str],
                   action: str) -> None:
    if row["status"] not in allowed:
        raise conflict(f"cannot {action} a ticket that is {row['status']}",
                       "invalid_transition")


def require_operator(principal: Principal | None, action: str) -> None:
    if principal is not None and not principal.is_operator:
        raise forbidden(f"only the command center may {action} a ticket")


async def update(tx: BaseDBAsyncClient, ticket_id: int, values: dict[str, Any],
                 *, bump_version: bool = True) -> None:
    unknown = set(values) - WRITABLE
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    sets = [f"{col} = ${i}" for i, col in enumerate(values, 2)]
    if bump_version:
        sets += ["version = version + 1", "updated_at = now()"]
    if not sets:
        return
    await tx.execute_query(f"UPDATE tickets SET {', '.join(sets)} WHERE id = $1",
                           [ticket_id, *values.values()])


async def commit(tx: BaseDBAsyncClient, before: dict[str, Any] | None, ticket_id: int,
                 kind: str, actor: str, **extra: Any) -> dict[str, Any]:
    """Append the event for a change already written; returns the ticket JSON after it.

    Must be the last thing the transaction does.
    """
    after = await fetch_view(tx, ticket_id)
    assert after is not None
    now = datetime.now(UTC)
    after_json = ticket_json(after, now)
    changes = diff(ticket_json(before, now) if before else None, after_json)
    payload = event_payload(after, changes, action=extra.pop("action", kind.split(".")[-1]),
                            **extra)
    old_dept = before["department_id"] if before else None
    new_dept = after["department_id"]
    await events.append(tx, kind, "ticket", ticket_id, actor, payload,
                        department_id=new_dept if new_dept is not None else old_dept)
    if old_dept is not None and new_dept is not None and old_dept != new_dept:
        await events.append(tx, "ticket.routed_away", "ticket", ticket_id, actor,
                            {**payload, "routed_away_from": old_dept}, department_id=old_dept)
    return after_json
