"""SLA: how long a ticket may take, and whether it is on time.

Two families, as the command center promises them:
- emergencies (P1, P2) in minutes: acknowledge within the department's
  `sla_ack_minutes`, dispatch (status in_progress) within `sla_dispatch_minutes`;
- complaints (P3, P4) in working days: acknowledged within `sla_verify_days`,
  resolved within `sla_resolve_days` (calendar.py knows weekends and holidays).

Due times are stored on the ticket (ack_due_at, resolve_due_at) so the queue can
sort and filter on them with an index. While a ticket waits on its reporter the
clock is paused; on resume the due times move by the time spent waiting.
The Python `sla_state` and the SQL in `state_sql` must agree; a test checks that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server.tickets.calendar import add_working_days

EMERGENCY = (1, 2)
OPEN_STATUSES = ("new", "triaged", "routed", "acknowledged", "in_progress")
TERMINAL_STATUSES = ("resolved", "closed", "rejected", "merged")
ACK_PENDING = ("new", "triaged", "routed")
# A deadline is "due soon" in the last fifth of its window.
DUE_SOON_FRACTION = 0.2
SLA_STATES = ("ok", "due_soon", "breached", "paused", "met")


@dataclass(frozen=True)
class Policy:
    """A department's promises; the defaults apply before anyone is responsible."""

    ack_minutes: int = 15
    dispatch_minutes: int = 30
    verify_days: int = 3
    resolve_days: int = 5

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> Policy:
        if row is None:
            return cls()
        return cls(row["sla_ack_minutes"], row["sla_dispatch_minutes"],
                   row["sla_verify_days"], row["sla_resolve_days"])


def due_times(priority: int, started: datetime, policy: Policy,
              paused_seconds: int = 0) -> tuple[datetime, datetime]:
    """(ack_due_at, resolve_due_at) for a clock started at `started`."""
    if priority in EMERGENCY:
        ack = started + timedelta(minutes=policy.ack_minutes)
        resolve = started + timedelta(minutes=policy.dispatch_minutes)
    else:
        ack = add_working_days(started, policy.verify_days)
        resolve = add_working_days(started, policy.resolve_days)
    shift = timedelta(seconds=paused_seconds)
    return ack + shift, resolve + shift


def ack_running(t: dict[str, Any]) -> bool:
    """Is the acknowledge deadline still something the ticket can miss?"""
    return (t["acknowledged_at"] is None and t["status"] in ACK_PENDING
            and t["ack_due_at"] is not None)


def resolve_running(t: dict[str, Any]) -> bool:
    """Emergencies meet their second deadline on dispatch (in_progress);
    complaints only when resolved."""
    if t["resolve_due_at"] is None:
        return False
    if t["status"] == "in_progress":
        return t["priority"] not in EMERGENCY
    return t["status"] in OPEN_STATUSES


def _soon(due: datetime, started: datetime, now: datetime) -> bool:
    window = due - started
    return due - window * DUE_SOON_FRACTION < now


def sla_state(t: dict[str, Any], now: datetime) -> str:
    if t["status"] in TERMINAL_STATUSES:
        return "met"
    if t["sla_paused_at"] is not None:
        return "paused"
    running = []
    if ack_running(t):
        running.append(t["ack_due_at"])
    if resolve_running(t):
        running.append(t["resolve_due_at"])
    if any(due < now for due in running):
        return "breached"
    if any(_soon(due, t["created_at"], now) for due in running):
        return "due_soon"
    return "ok"


ACK_RUNNING_SQL = ("(t.acknowledged_at IS NULL AND t.status IN ('new','triaged','routed')"
                " AND t.ack_due_at IS NOT NULL)")
RESOLVE_RUNNING_SQL = ("(t.resolve_due_at IS NOT NULL AND (t.status IN ('new','triaged','routed',"
                "'acknowledged') OR (t.status = 'in_progress' AND t.priority > 2)))")
_BREACHED = (f"(({ACK_RUNNING_SQL} AND t.ack_due_at < now()) OR"
             f" ({RESOLVE_RUNNING_SQL} AND t.resolve_due_at < now()))")
_SOON = (f"(({ACK_RUNNING_SQL} AND t.ack_due_at - (t.ack_due_at - t.created_at) * "
         f"{DUE_SOON_FRACTION} < now()) OR ({RESOLVE_RUNNING_SQL} AND t.resolve_due_at - "
         f"(t.resolve_due_at - t.created_at) * {DUE_SOON_FRACTION} < now()))")
_OPEN = "t.status IN ('new','triaged','routed','acknowledged','in_progress')"


def state_sql(state: str) -> str:
    """A WHERE fragment (table alias `t`) selecting tickets in `state`."""
    if state == "met":
        return "t.status IN ('resolved','closed','rejected','merged')"
    if state == "paused":
        return f"({_OPEN} AND t.sla_paused_at IS NOT NULL)"
    live = f"{_OPEN} AND t.sla_paused_at IS NULL"
    if state == "breached":
        return f"({live} AND {_BREACHED})"
    if state == "due_soon":
        return f"({live} AND NOT {_BREACHED} AND {_SOON})"
    if state == "ok":
        return f"({live} AND NOT {_BREACHED} AND NOT {_SOON})"
    raise ValueError(f"unknown SLA state {state!r}")
