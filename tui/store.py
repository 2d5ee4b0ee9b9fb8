"""The console's copy of the open queue: ticket JSON keyed by id, newest version wins.

Events can arrive before, during or after the initial page load, and an action's
own response races the event it caused; comparing `version` makes the order
irrelevant, so a stale copy never overwrites a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui.tickets import OPEN_STATUSES, Ticket


class TicketStore:
    def __init__(self) -> None:
        self.tickets: dict[int, Ticket] = {}
        self.loaded = False  # the first page is in: the queue is usable
        self.complete = False  # every page is in
        self.server_total = 0
        self._open_count = 0

    def get(self, ticket_id: int) -> Ticket | None:
        return self.tickets.get(ticket_id)

    def load(self, items: Iterable[Ticket], server_total: int) -> list[Ticket]:
        """Take a page of the queue; returns the tickets that were news to us."""
        taken = [ticket for ticket in items if self.apply(ticket)]
        self.loaded = True
        self.server_total = server_total
        return taken

    def apply(self, ticket: Ticket, *, force: bool = False) -> bool:
        """Take `ticket` unless we already hold a newer version; returns whether it changed.

        `force` is for a copy just read from the server on purpose (after a 409): the
        server is right even if our copy claims a higher version.
        """
        ticket_id = int(ticket["id"])
        old = self.tickets.get(ticket_id)
        if not force and old is not None and \
                int(old.get("version") or 0) > int(ticket.get("version") or 0):
            return False
        if old == ticket:
            return False
        self._open_count += (ticket.get("status") in OPEN_STATUSES) - (
            old is not None and old.get("status") in OPEN_STATUSES)
        self.tickets[ticket_id] = ticket
        return True

    def drop_open(self, keep: set[int]) -> list[int]:
        """Forget the open tickets not in `keep`; returns their ids.

        After a resync (events were skipped) a fresh listing of the open queue,
        plus whatever events brought meanwhile, is the truth: an open ticket we
        hold that is in neither left the queue while we could not hear of it."""
        gone = [i for i, tk in self.tickets.items()
                if tk.get("status") in OPEN_STATUSES and i not in keep]
        for ticket_id in gone:
            del self.tickets[ticket_id]
        self._open_count -= len(gone)
        return gone

    def open_count(self) -> int:
        """Kept as tickets come and go: counting 10,000 on every event batch adds up."""
        return self._open_count

    def open_tickets(self) -> list[Ticket]:
        return [tk for tk in self.tickets.values() if tk.get("status") in OPEN_STATUSES]

    def by_reference(self, reference: str) -> Ticket | None:
        ref = reference.strip().lower()
        for ticket in self.tickets.values():
            if str(ticket.get("reference", "")).lower() == ref:
                return ticket
        return None
