"""SLA: how long a ticket may take, and whether it is on time.

Two families, as the command center promises them, each clock running from the
event that starts it and from nothing else (triage, a priority or category
change, a note never restart one; they may only change its length):
- emergencies (P1, P2) in minutes, both from the call (submission): acknowledge
  within the department's `sla_ack_minutes`, dispatch (status in_progress)
  within `sla_dispatch_minutes`; a life is at stake from the first ring, so the
  center's own minutes count too;
- complaints (P3, P4) in working days, the LAPOR! rule: verified (acknowledged)
  within `sla_verify_days` of submission, answered (resolved) within
  `sla_resolve_days` of routing to the department that must answer; before
  routing that second clock has not started (resolve_due_at is NULL).
  calendar.py knows weekends and holidays.

Submission is `created_at`, or the last reopen (`sla_started_at`, NULL when the
ticket was never reopened). Routing is `routed_at`: every route to a department
(a re-route gives the new department its own full time), or a reopen back to
the department. A ticket with a department but no `routed_at` (loaded by a seed
or an import) is timed from its submission.

Due times are stored on the ticket (ack_due_at, resolve_due_at) so the queue can
sort and filter on them with an index. While a ticket waits on its reporter the
clock is paused; on resume the due times move by the time spent waiting (the
resolve clock only by the waiting after routing, `routed_paused_seconds` being
the total already waited when it started).
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


def due_times(priority: int, policy: Policy, *, submitted: datetime,
              routed: datetime | None = None, paused_seconds: int = 0,
              routed_paused_seconds: int = 0) -> tuple[datetime, datetime | None]:
    """(ack_due_at, resolve_due_at) for a ticket submitted (or reopened) at
    `submitted` and routed at `routed` (None: not routed), after
    `paused_seconds` of waiting on the reporter in all, `routed_paused_seconds`
    of them before routing."""
    waited = timedelta(seconds=paused_seconds)
    if priority in EMERGENCY:
        return (submitted + timedelta(minutes=policy.ack_minutes) + waited,
                submitted + timedelta(minutes=policy.dispatch_minutes) + waited)
    ack = add_working_days(submitted, policy.verify_days) + waited
    if routed is None:
        return ack, None
    waited_since = timedelta(seconds=max(0, paused_seconds - routed_paused_seconds))
    return ack, add_working_days(routed, policy.resolve_days) + waited_since


def clock_starts(t: dict[str, Any]) -> tuple[datetime, datetime | None]:
    """(submitted, routed) for a ticket row: the events its clocks run from."""
    submitted = t.get("sla_started_at") or t["created_at"]
    if t.get("department_id") is None:
        return submitted, None
    return submitted, t.get("routed_at") or submitted


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
    submitted, routed = clock_starts(t)
    if ack_running(t) and _soon(t["ack_due_at"], submitted, now):
        return "due_soon"
    resolve_start = routed if routed is not None and t["priority"] not in EMERGENCY \
        else submitted
    if resolve_running(t) and _soon(t["resolve_due_at"], resolve_start, now):
        return "due_soon"
    return "ok"


ACK_RUNNING_SQL = ("(t.acknowledged_at IS NULL AND t.status IN ('new','triaged','routed')"
                " AND t.ack_due_at IS NOT NULL)")
RESOLVE_RUNNING_SQL = ("(t.resolve_due_at IS NOT NULL AND (t.status IN ('new','triaged','routed',"
                "'acknowledged') OR (t.status = 'in_progress' AND t.priority > 2)))")
_BREACHED = (f"(({ACK_RUNNING_SQL} AND t.ack_due_at < now()) OR"
             f" ({RESOLVE_RUNNING_SQL} AND t.resolve_due_at < now()))")
# Where each clock started (clock_starts, in SQL): the due-soon window's start.
_ACK_START = "COALESCE(t.sla_started_at, t.created_at)"
_RESOLVE_START = (f"(CASE WHEN t.priority > 2 AND t.department_id IS NOT NULL"
                  f" THEN COALESCE(t.routed_at, {_ACK_START}) ELSE {_ACK_START} END)")
_SOON = (f"(({ACK_RUNNING_SQL} AND t.ack_due_at - (t.ack_due_at - {_ACK_START}) * "
         f"{DUE_SOON_FRACTION} < now()) OR ({RESOLVE_RUNNING_SQL} AND t.resolve_due_at - "
         f"(t.resolve_due_at - {_RESOLVE_START}) * {DUE_SOON_FRACTION} < now()))")
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
