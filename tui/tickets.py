"""Pure functions over ticket JSON: urgency order, SLA countdown, filter matching.

Kept free of Textual so the queue, the detail screen and the benchmark agree on
what "most urgent" means, and so it is cheap to test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tui.i18n import t
from tui.settings import ROOM_TZ

Ticket = dict[str, Any]
Clock = Callable[[], datetime]

OPEN_STATUSES = ("new", "triaged", "routed", "acknowledged", "in_progress")
UNACKNOWLEDGED = ("new", "triaged", "routed")


# The command center runs on room time whatever the SSH client's machine says;
# the app sets it from its settings (PANTAU_TZ) when it starts.
_room_tz = ZoneInfo(ROOM_TZ)


def use_time_zone(name: str) -> None:
    """Show times in `name` from now on (ConsoleSettings.tz, validated there)."""
    global _room_tz
    _room_tz = ZoneInfo(name)


def utcnow() -> datetime:
    return datetime.now(UTC)


def local(value: str | None, fmt: str, missing: str = "--") -> str:
    """An ISO timestamp as room time (Asia/Jakarta unless PANTAU_TZ says otherwise)."""
    at = parse_time(value)
    return at.astimezone(_room_tz).strftime(fmt) if at else missing


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def due_at(ticket: Ticket) -> datetime | None:
    """The deadline that matters now: acknowledge first, then resolve."""
    if ticket.get("sla_state") in ("paused", "met"):
        return None
    if ticket.get("status") in UNACKNOWLEDGED and ticket.get("ack_due_at"):
        return parse_time(ticket["ack_due_at"])
    return parse_time(ticket.get("resolve_due_at"))


def urgency_key(ticket: Ticket) -> tuple[int, float, int]:
    """The server's queue order: the ticket's `queue_rank`, then `queue_due_at`
    (none last), then id (the server decides both; see server/tickets/queue.py).

    Same order as GET /api/tickets, so a row does not jump when the list is reloaded.
    A ticket without them (an older server) sorts by priority and resolve deadline.
    """
    if "queue_rank" in ticket:
        rank = int(ticket["queue_rank"])
        due = parse_time(ticket.get("queue_due_at"))
    else:
        rank = int(ticket.get("priority") or 4) + 1
        due = parse_time(ticket.get("resolve_due_at"))
    return (rank, due.timestamp() if due else math.inf, int(ticket.get("id") or 0))


def short_duration(seconds: float) -> str:
    """4-character-ish durations for narrow columns: 45s, 12m, 3h05, 2d04."""
    s = int(abs(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}"


def sla_text(ticket: Ticket, now: datetime) -> str:
    state = ticket.get("sla_state")
    if state == "paused":
        return "paused"
    if state == "met":
        return "met"
    due = due_at(ticket)
    if due is None:
        return "-"
    left = (due - now).total_seconds()
    return short_duration(left) if left >= 0 else "-" + short_duration(left)


def sla_class(ticket: Ticket, now: datetime) -> str:
    """breached / due_soon / ok, recomputed locally so the colour ticks with the clock."""
    state = ticket.get("sla_state") or "ok"
    if state in ("paused", "met"):
        return state
    due = due_at(ticket)
    if due is not None:
        left = (due - now).total_seconds()
        if left < 0:
            return "breached"
        if state == "breached":
            return "breached"
        if left < 3600 or state == "due_soon":
            return "due_soon"
    return state


def age_text(ticket: Ticket, now: datetime) -> str:
    created = parse_time(ticket.get("created_at"))
    return short_duration((now - created).total_seconds()) if created else "-"


def name_of(value: dict[str, Any] | None, key: str = "name") -> str:
    return str(value.get(key) or value.get("code") or "") if value else ""


def code_of(value: dict[str, Any] | None) -> str:
    return str(value.get("code") or "") if value else ""


@dataclass
class Filter:
    """The `/` filter: free words plus d:, dep:, s:, p: and ch: terms (all must match)."""

    words: list[str] = field(default_factory=list)
    district: str = ""
    department: str = ""
    status: str = ""
    priority: str = ""
    channel: str = ""

    @classmethod
    def parse(cls, text: str) -> Filter:
        f = cls()
        for token in text.lower().split():
            key, sep, value = token.partition(":")
            if sep and value and key in ("d", "district"):
                f.district = value
            elif sep and value and key in ("dep", "dept", "department"):
                f.department = value
            elif sep and value and key in ("s", "status"):
                f.status = value
            elif sep and value and key in ("p", "prio", "priority"):
                f.priority = value.lstrip("p")
            elif sep and value and key in ("ch", "channel"):
                f.channel = value
            else:
                f.words.append(token)
        return f

    @property
    def empty(self) -> bool:
        return not (self.words or self.district or self.department or self.status
                    or self.priority or self.channel)

    def matches(self, ticket: Ticket) -> bool:
        district = ticket.get("district") or {}
        department = ticket.get("department") or {}
        if self.district and not _has(self.district, district.get("code"), district.get("name")):
            return False
        if self.department and not _has(self.department, department.get("code"),
                                        department.get("name")):
            return False
        if self.status and not str(ticket.get("status", "")).startswith(self.status):
            return False
        if self.priority and str(ticket.get("priority", "")) != self.priority:
            return False
        if self.channel and not str(ticket.get("channel", "")).startswith(self.channel):
            return False
        if self.words:
            hay = haystack(ticket)
            return all(word in hay for word in self.words)
        return True


def _has(needle: str, *values: object) -> bool:
    return any(needle in str(v).lower() for v in values if v)


def haystack(ticket: Ticket) -> str:
    category = ticket.get("category") or {}
    parts = [ticket.get("reference"), ticket.get("description"), ticket.get("address"),
             category.get("name"), category.get("name_en"), category.get("code"),
             name_of(ticket.get("district")), name_of(ticket.get("department")),
             code_of(ticket.get("department")), " ".join(ticket.get("tags") or [])]
    return " ".join(str(p) for p in parts if p).lower()


def category_name(ticket: Ticket, language: str) -> str:
    """The category in the console's language (Indonesian names are the city's own)."""
    category = ticket.get("category") or {}
    if language == "id":
        return str(category.get("name") or category.get("name_en") or "")
    return str(category.get("name_en") or category.get("name") or "")


def ticket_summary(ticket: Ticket, language: str) -> str:
    """One line that names a ticket in a modal: reference, priority, what, where, status.

    A modal shows it so the operator confirms the ticket they meant, not only a
    reference they may not have read.
    """
    status = ticket.get("status")
    parts = [str(ticket.get("reference") or f"#{ticket.get('id')}"),
             f"P{ticket.get('priority') or '?'}", category_name(ticket, language),
             name_of(ticket.get("district")), t(f"status.{status}") if status else ""]
    return " · ".join(part for part in parts if part)
