"""What the alarm screen says about the selected alarm, besides its row.

Its P1 ticket (reference, priority, status: does someone have it?), the nearest
cameras (where to look), and the device owner's contacts: a message that no
gateway accepted is said plainly, with the numbers, so the operator calls them.
Only a message in state `sent` counts as told: `pending`, `retrying`, `failed`,
`not_delivered` and any state this console does not know all mean nobody has
been told by the system yet. Pure functions from the alarm's JSON to text.
"""

from __future__ import annotations

from typing import Any

from tui.i18n import t
from tui.tickets import Ticket

KNOWN_STATES = ("pending", "retrying", "failed", "not_delivered")
NO_GATEWAY = "no gateway configured"  # the server's reason for its log-only sender


def ticket_line(alarm: dict[str, Any], ticket: Ticket | None) -> str:
    ref = alarm.get("ticket_reference")
    if not ref:
        return t("alarms.ticket_pending")
    if ticket is None:
        return t("alarms.ticket", ref=ref, priority="?", status="…")
    return t("alarms.ticket", ref=ref, priority=ticket.get("priority") or "?",
             status=t(f"status.{ticket.get('status')}"))


def cameras_line(alarm: dict[str, Any]) -> str:
    cams = alarm.get("nearest_cameras") or []
    if not cams:
        return t("alarms.no_cameras")
    return t("alarms.cameras", cameras=" · ".join(
        f"{c.get('name') or c.get('code')} {c.get('distance_m', '?')} m" for c in cams))


def told(notification: dict[str, Any]) -> bool:
    return _state(notification) == "sent"


def contacts_lines(notifications: list[dict[str, Any]] | None) -> tuple[list[str], bool]:
    """The contacts block and whether it must warn (someone was not told)."""
    if notifications is None:
        return [], False
    if not notifications:
        return [t("alarms.contacts_none")], False
    missing = [n for n in notifications if not told(n)]
    lines = [t("alarms.contacts_call", n=len(missing), total=len(notifications))] \
        if missing else []
    for n in notifications:
        channel = t(f"contact_channel.{n.get('channel')}")
        who = {"name": n.get("contact") or "?", "phone": n.get("address") or "",
               "channel": channel}
        if told(n):
            lines.append(t("alarms.contact_sent", **who))
        else:
            lines.append(t("alarms.contact_missing", **who, why=_why(n)))
    return lines, bool(missing)


def _state(notification: dict[str, Any]) -> str:
    return str(notification.get("state") or notification.get("status") or "")


def _why(notification: dict[str, Any]) -> str:
    state = _state(notification)
    what = t(f"delivery.{state}") if state in KNOWN_STATES else \
        t("delivery.unknown", state=state or "?")
    reason = str(notification.get("reason") or "")
    if reason == NO_GATEWAY:
        reason = t("delivery.no_gateway")
    return f"{what}: {reason}" if reason else what
