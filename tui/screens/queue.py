"""The queue: every open ticket, most urgent first, kept live from the event stream."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label

from tui import i18n
from tui.client import ApiError
from tui.i18n import t
from tui.screens.ticket_base import TicketScreen
from tui.tickets import OPEN_STATUSES, Filter, Ticket
from tui.widgets.queue_columns import natural_widths
from tui.widgets.ticket_table import TicketTable

TICK_SECONDS = 5.0
RESORT_SECONDS = 0.4  # re-order at most this often, and only when no key was pressed


class QueueScreen(TicketScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "filter", id="queue.filter"),
        Binding("escape", "back", "clear filter", show=False, id="queue.back"),
        Binding("enter", "open", "open", show=False, id="queue.open"),
        Binding("R", "reload", "reload", show=False, id="queue.reload"),
        Binding("e", "app.go('call')", "112 call", show=False, id="queue.call"),
        Binding("S", "app.go('shift')", "shift", show=False, id="queue.shift"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = Filter()
        self.last_key_at = 0.0
        self.title = t("queue.title")

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        with Horizontal(classes="queue-head"):
            yield Label(t("queue.title"), classes="screen-title")
            yield Label(t("queue.loading"), id="queue-count")
        yield Input(placeholder=t("queue.filter"), id="queue-filter", classes="-hidden",
                    compact=True)
        yield TicketTable(clock=self.papp.clock, id="queue-table",
                          natural=lambda: natural_widths(self.papp.reference, i18n.language()))
        yield from self.footer()

    @property
    def table(self) -> TicketTable:
        return self.query_one(TicketTable)

    def on_mount(self) -> None:
        self.papp.ticket_listeners.append(self.on_tickets_changed)
        self.set_interval(TICK_SECONDS, self._tick)
        self.set_interval(RESORT_SECONDS, self._resort_when_idle)
        self.watch(self.papp, "reference_loaded", lambda _: self.table.replan(), init=False)
        self.table.focus()
        if self.papp.store.loaded:
            self.refresh_rows()
        else:
            self.load()

    def on_unmount(self) -> None:
        if self.on_tickets_changed in self.papp.ticket_listeners:
            self.papp.ticket_listeners.remove(self.on_tickets_changed)

    @work(exclusive=True, group="queue-load", exit_on_error=False)
    async def load(self) -> None:
        try:
            async for items, total in self.papp.fetch_open_tickets():
                taken = self.papp.store.load(items, total)
                self.on_tickets_changed([int(tk["id"]) for tk in taken])  # urgency order
            self.papp.store.complete = True
            with self.app.batch_update():
                self.table.replan()  # the references and names are known now
                self.table.resort()  # only if events arrived out of order meanwhile
                if not self.last_key_at and self.table.row_count:
                    self.table.move_cursor(row=0)  # untouched: start on the most urgent
        except ApiError as exc:
            self.notify(exc.detail, severity="error")
            self.query_one("#queue-count", Label).update(exc.message[:40])

    # -- rows -----------------------------------------------------------------------------
    def on_tickets_changed(self, changed: Iterable[int]) -> None:
        """Apply only the changed tickets (keyed by id) in one batch, in the given order.

        The ticket under the cursor never disappears by itself: when a change (the
        operator's own `t`, or anyone's) takes it out of this view, its row stays,
        marked as leaving, until the operator moves off it. Otherwise the cursor
        would land on the next ticket and the next key would act on a ticket the
        operator never looked at.
        """
        if not self.papp.store.loaded:
            return
        upsert: dict[int, Ticket] = {}
        remove: set[int] = set()
        leaving: set[int] = set()
        under_cursor = self.table.selected_id
        for ticket_id in changed:
            ticket = self.papp.store.get(ticket_id)
            if ticket is not None and self._belongs(ticket):
                upsert[ticket_id] = ticket
            elif ticket is not None and ticket_id == under_cursor \
                    and ticket_id in self.table.shown:
                upsert[ticket_id] = ticket
                leaving.add(ticket_id)
            else:
                remove.add(ticket_id)
        with self.app.batch_update():
            self.table.patch(upsert, remove, self.papp.clock(), leaving=leaving)
        self._show_count()

    def _belongs(self, ticket: Ticket) -> bool:
        return ticket.get("status") in OPEN_STATUSES and self.filter.matches(ticket)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The operator moved: rows kept only because the cursor was on them go now."""
        gone = self.table.leaving - {self.table.selected_id}
        if gone:
            with self.app.batch_update():
                self.table.patch({}, gone, self.papp.clock())
            self._show_count()

    def refresh_rows(self) -> None:
        """Diff the table against the store (one batch: one repaint, not one per row)."""
        open_tickets = self.papp.store.open_tickets()
        wanted = [tk for tk in open_tickets if self.filter.matches(tk)]
        with self.app.batch_update():
            self.table.sync(wanted, self.papp.clock())
        self._show_count()

    def _show_count(self) -> None:
        """ "N of M"; "N of >M" when the server holds more than the console loaded;
        and which ticket under the cursor is only kept until the operator moves."""
        total = self.papp.store.open_count()
        more = ">" if self.papp.store.server_total > total else ""
        leaving = sorted(self.table.leaving)
        text = t("queue.count", shown=self.table.row_count - len(leaving),
                 total=f"{more}{total}")
        if leaving:
            ticket = self.papp.store.get(leaving[0]) or {}
            text = t("queue.leaving", ref=ticket.get("reference", "?")) + " · " + text
        self.query_one("#queue-count", Label).update(text)

    def on_key(self, event: events.Key) -> None:
        self.last_key_at = time.monotonic()

    def _resort_when_idle(self) -> None:
        if self.table.unsorted and time.monotonic() - self.last_key_at > RESORT_SECONDS:
            with self.app.batch_update():
                self.table.resort()

    def _tick(self) -> None:
        with self.app.batch_update():
            self.table.tick(self.papp.clock())

    def selected_ticket(self) -> Ticket | None:
        ticket_id = self.table.selected_id
        return self.papp.store.get(ticket_id) if ticket_id is not None else None

    # -- keys -----------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#queue-filter", Input)
        box.remove_class("-hidden")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "queue-filter":
            self.filter = Filter.parse(event.value)
            self.refresh_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "queue-filter":
            if not event.value:
                event.input.add_class("-hidden")
            self.table.focus()

    def action_back(self) -> None:
        """esc: first leave the filter box, then clear the filter."""
        box = self.query_one("#queue-filter", Input)
        if box.has_focus:
            self.table.focus()
            if not box.value:
                box.add_class("-hidden")
        elif box.value:
            box.value = ""
            box.add_class("-hidden")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        from tui.screens.ticket import TicketDetailScreen

        ticket = self.selected_ticket()
        if ticket is not None:
            self.app.push_screen(TicketDetailScreen(int(ticket["id"])))

    def action_reload(self) -> None:
        self.load()
