"""Ticket changes, one at a time, always with the freshest version we hold.

Actions are queued behind one lock: `t` then `r` pressed faster than the server
answers must route the ticket *after* the triage landed, with the version the
triage returned, not fail on a version the console already knew was stale.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tui.client import ApiError
from tui.i18n import t

if TYPE_CHECKING:
    from tui.app import PantauApp

VERSIONED = ("triage", "route", "acknowledge", "start", "resolve", "close", "reject", "reopen",
             "merge")


class TicketOps:
    """The one place that POSTs ticket changes (owned by the app)."""

    def __init__(self, app: PantauApp) -> None:
        self.app = app
        self._lock = asyncio.Lock()

    async def call(self, ticket_id: int, action: str, extra: dict[str, Any], done: str) -> bool:
        """POST the action; apply the answer to the store; tell the operator either way."""
        app = self.app
        async with self._lock:
            ticket = app.store.get(ticket_id)
            if ticket is None:
                app.notify(t("ticket.none"), severity="warning")
                return False
            body = dict(extra)
            if action in VERSIONED:
                body["version"] = ticket["version"]
            path_action = "notes" if action == "note" else action
            ref = ticket.get("reference", ticket_id)
            try:
                result = await app.client.ticket_action(ticket_id, path_action, body)
            except ApiError as exc:
                if exc.conflict:
                    # Stale version or a transition someone else already made: show
                    # the ticket as it is now, and never retry on the operator's behalf.
                    await self.refresh(ticket_id)
                    stale = "version" in (exc.message + exc.error).lower()
                    app.notify(t("ticket.stale", ref=ref) if stale else f"{ref}: {exc.message}",
                               severity="warning")
                else:
                    app.notify(f"{ref}: {exc.detail}", severity="error")
                return False
            if result.get("id") == ticket_id:
                app.store_apply([result])
            else:
                await self.refresh(ticket_id)
            app.notify(t("ticket.done", ref=ref, what=done))
            return True

    async def refresh(self, ticket_id: int) -> None:
        try:
            fresh = await self.app.client.ticket(ticket_id)
            for extra in ("notes", "co_reporters", "attributes"):
                fresh.pop(extra, None)
            self.app.store_apply([fresh], force=True)
        except ApiError as exc:
            self.app.notify(exc.message, severity="error")
