"""The live queue table: rows keyed by ticket id, changed only by diff.

Following Dolphie's process list: drop rows that vanished, update only cells that
changed, add new rows, re-sort only when an urgency changed, and put the cursor
back on the ticket it was on. Colours come from component classes styled in
console.tcss with theme variables, so light and dark themes both work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from tui import i18n
from tui.i18n import t
from tui.tickets import (
    Clock,
    Ticket,
    age_text,
    code_of,
    name_of,
    sla_class,
    sla_text,
    urgency_key,
)
from tui.widgets.queue_columns import LABELS, plan_columns

LEAVING_MARK = "↷"  # a row that no longer belongs to the view, kept while under the cursor
NaturalWidths = Callable[[], dict[str, int]]


class UrgencyCell(Text):
    """The priority cell, carrying the row's sort key (DataTable sorts by cell values)."""

    urgency: tuple[Any, ...] = ()


class TicketTable(DataTable[Any]):
    """Open tickets, most urgent first."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tickets--p1", "tickets--p2", "tickets--p3", "tickets--p4",
        "tickets--breached", "tickets--due-soon", "tickets--ok", "tickets--muted",
        "tickets--flagged", "tickets--leaving",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "down", show=False, id="table.down"),
        Binding("k", "cursor_up", "up", show=False, id="table.up"),
        Binding("g", "scroll_top", "top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "bottom", show=False, id="table.bottom"),
    ]

    def __init__(self, clock: Clock | None = None, natural: NaturalWidths | None = None,
                 **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.shown: dict[int, Ticket] = {}
        self.clock = clock
        self.natural = natural  # the longest names there are (see queue_columns)
        self.plan: dict[str, int] = {}  # the columns shown and their widths
        self.unsorted = False  # an update moved a row's urgency; see resort()
        self.stale: set[int] = set()  # rows out of view whose cells are behind their ticket
        # Rows kept on screen although their ticket left the view (filter, status),
        # because the cursor is on them: see QueueScreen.on_tickets_changed.
        self.leaving: set[int] = set()
        # ...and they keep the place they had (the urgency they were sorted by when
        # they started leaving): the operator finds the queue as they left it.
        self._held_urgency: dict[int, tuple[Any, ...]] = {}
        self._tail: tuple[Any, ...] | None = None  # the largest urgency appended so far

    # -- keeping DataTable's whole-table caches across cell updates -------------------------
    # DataTable caches its row order and line offsets by an update counter that every
    # update_cell bumps, so each live change recomputed both over all 10,000 rows on
    # the next frame. Here they are cached by the table's *structure* instead (rows
    # added, removed, sorted or cleared): a cell update changes neither, since every
    # row is one line high.
    _structure = 0
    _rows_cache: tuple[tuple[int, int], Any] | None = None
    _offsets_cache: tuple[tuple[int, int], Any] | None = None

    def _restructured(self) -> None:
        self._structure += 1

    def add_row(self, *cells: Any, **kwargs: Any) -> Any:
        self._restructured()
        return super().add_row(*cells, **kwargs)

    def remove_row(self, row_key: Any) -> None:
        self._restructured()
        super().remove_row(row_key)

    def sort(self, *columns: Any, **kwargs: Any) -> Any:
        self._restructured()
        return super().sort(*columns, **kwargs)

    def clear(self, columns: bool = False) -> Any:
        self._restructured()
        return super().clear(columns)

    @property
    def ordered_rows(self) -> Any:
        key = (self.row_count, self._structure)
        if self._rows_cache is None or self._rows_cache[0] != key:
            self._rows_cache = (key, DataTable.ordered_rows.fget(self))  # type: ignore[attr-defined]
        return self._rows_cache[1]

    @property
    def _y_offsets(self) -> Any:
        key = (self.row_count, self._structure)
        if self._offsets_cache is None or self._offsets_cache[0] != key:
            self._offsets_cache = (key, DataTable._y_offsets.fget(self))  # type: ignore[attr-defined]
        return self._offsets_cache[1]

    def on_mount(self) -> None:
        self.replan()

    def on_resize(self, event: events.Resize) -> None:
        self.replan()

    # -- columns for the width there is ---------------------------------------------------
    def replan(self) -> None:
        """Fit the columns to the table's width: widths change in place; a column that
        comes or goes (reference, description) rebuilds the rows, which only happens
        when the terminal is resized across a threshold or the names first load."""
        natural = self.natural() if self.natural is not None else {}
        refs = [len(str(tk.get("reference") or "")) for tk in self.shown.values()]
        if refs:
            channels = {str(tk.get("channel") or "") for tk in self.shown.values()}
            natural = {**natural, "ref": max(refs),
                       "channel": max(len(t(f"channel_short.{c}")) for c in channels)}
        plan = plan_columns(self.size.width or 80, natural)
        if list(plan) != list(self.plan):
            self._rebuild(plan)
        elif plan != self.plan:
            self.plan = plan
            for key, width in plan.items():
                self.columns[key].width = width  # type: ignore[index]
            # DataTable caches rendered lines by its update count; widths are not cells.
            self._update_count += 1
            self._require_update_dimensions = True
            self.check_idle()
            self.refresh(layout=True)

    def _rebuild(self, plan: dict[str, int]) -> None:
        keep_id, keep_index = self.selected_id, self.cursor_row
        order = [int(str(row.key.value)) for row in self.ordered_rows]
        self.clear(columns=True)
        self.plan = plan
        for key, width in plan.items():
            self.add_column(t(LABELS[key]), width=width, key=key)
        now = self.clock() if self.clock is not None else datetime.now(UTC)
        for ticket_id in order:
            self.add_row(*self.cells(self.shown[ticket_id], now).values(), key=str(ticket_id))
        self.stale.clear()
        self._restore_cursor(keep_id, keep_index)

    # -- cells ----------------------------------------------------------------------------
    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"tickets--{name}", partial=True)

    def cells(self, ticket: Ticket, now: datetime) -> dict[str, Any]:
        prio = int(ticket.get("priority") or 4)
        prio_cell = UrgencyCell(f"P{prio}", style=self._style(f"p{min(max(prio, 1), 4)}"))
        prio_cell.urgency = self._urgency(ticket)
        sla_style = {"breached": "breached", "due_soon": "due-soon", "ok": "ok"}.get(
            sla_class(ticket, now), "muted")
        category = ticket.get("category") or {}
        cat_name = (category.get("name") if i18n.language() == "id"
                    else category.get("name_en") or category.get("name")) or ""
        status = str(ticket.get("status", ""))
        status_style = self._style("flagged") if ticket.get("flagged") else ""
        cells: dict[str, Any] = {
            "prio": prio_cell,
            "sla": Text(sla_text(ticket, now), style=self._style(sla_style)),
            "status": Text(t(f"status_short.{status}"), style=status_style),
            "category": cat_name,
            "dept": code_of(ticket.get("department")) or "-",
            "district": name_of(ticket.get("district")) or "-",
            "age": age_text(ticket, now),
            "channel": t(f"channel_short.{ticket.get('channel', '')}"),
        }
        if "ref" in self.plan:
            cells["ref"] = str(ticket.get("reference") or "")
        if "description" in self.plan:
            lines = str(ticket.get("description") or "").strip().splitlines()
            cells["description"] = lines[0] if lines else ""
        cells = {key: cells[key] for key in self.plan}
        if int(ticket["id"]) in self.leaving:
            # Dimmed and struck through, marked in place of the P of its priority (no
            # column to widen): still the ticket the keys act on, visibly no longer
            # part of this view.
            prio_cell = cells["prio"]
            marked = UrgencyCell(LEAVING_MARK + prio_cell.plain[1:], style=prio_cell.style)
            marked.urgency = prio_cell.urgency
            cells["prio"] = marked
            leaving = self._style("leaving")
            for column, value in cells.items():
                text = value if isinstance(value, Text) else Text(str(value))
                text.stylize(leaving)
                cells[column] = text
        return cells

    # -- diffing --------------------------------------------------------------------------
    @property
    def selected_id(self) -> int | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # cursor outside the table while it is rebuilt
            return None
        return int(key.value) if key.value is not None else None

    def sync(self, wanted: Iterable[Ticket], now: datetime) -> bool:
        """Make the rows exactly `wanted`, in order (after a load or a new filter)."""
        wanted_by_id = {int(tk["id"]): tk for tk in wanted}
        changed = self.patch(wanted_by_id, set(self.shown) - set(wanted_by_id), now)
        self.resort()
        return changed

    def resort(self) -> bool:
        """Put the rows back in urgency order if an update left them out of it.

        Sorting 10,000 rows costs tens of milliseconds, so event batches only mark
        the table unsorted and the screen calls this when the operator pauses:
        rows do not jump under a cursor that is being moved, and keys stay fast.
        Not while a row is kept only because the cursor is on it (`leaving`): moved
        to the end of the table by its new place, it would take the cursor along to
        where `j` cannot move off it; the sort waits until the operator has.
        """
        if not self.unsorted or self.leaving:
            return False
        keep_id, keep_index = self.selected_id, self.cursor_row
        self.sort("prio", key=lambda cell: cell.urgency)
        self.unsorted = False
        self._restore_cursor(keep_id, keep_index)
        if self.clock is not None:
            self.refresh_visible(self.clock())
        return True

    def patch(self, upsert: dict[int, Ticket], remove: Iterable[int], now: datetime,
              leaving: Iterable[int] = ()) -> bool:
        """Add or update the `upsert` rows and drop the `remove` ones; nothing else is
        touched, so a burst of events costs what it changes, not the size of the queue.
        The `leaving` ids (among `upsert`) are kept but drawn as leaving the view; any
        other upserted row is an ordinary one again.
        Returns whether anything visible changed."""
        keep_id = self.selected_id
        keep_index = self.cursor_row
        changed = resort = False
        for gone in remove:
            self.leaving.discard(gone)
            self._held_urgency.pop(gone, None)
            if gone in self.shown:
                self.remove_row(str(gone))
                del self.shown[gone]
                self.stale.discard(gone)
                changed = True
        leaving = set(leaving)
        restyled = {i for i in upsert if i in self.shown and (i in leaving) != (i in self.leaving)}
        for ticket_id in restyled:
            if ticket_id in leaving:
                self._held_urgency[ticket_id] = self.get_cell(str(ticket_id), "prio").urgency
            else:
                self._held_urgency.pop(ticket_id, None)
        self.leaving = (self.leaving - set(upsert)) | leaving
        for ticket_id, ticket in upsert.items():
            old = self.shown.get(ticket_id)
            if ticket_id in restyled:
                resort |= self.get_cell(str(ticket_id), "prio").urgency != self._urgency(ticket)
                changed |= self._update_row(ticket_id, ticket, now)
            if old is None:
                cells = self.cells(ticket, now)
                urgency = cells["prio"].urgency
                self.add_row(*cells.values(), key=str(ticket_id))
                # Appended at the end: only out of order if more urgent than the tail
                # (pages of the queue arrive in urgency order and need no sort).
                changed = True
                resort |= self._tail is not None and urgency < self._tail
                self._tail = urgency if self._tail is None else max(self._tail, urgency)
            elif old is not ticket and old != ticket:
                moved = self._urgency(old) != self._urgency(ticket)
                resort |= moved
                if self._on_screen(ticket_id):
                    changed |= self._update_row(ticket_id, ticket, now)
                else:
                    # Any update_cell re-renders every visible line, so rows out of
                    # view are only marked; they are drawn when they scroll in.
                    self.stale.add(ticket_id)
                    if moved:
                        cell = self.get_cell(str(ticket_id), "prio")
                        cell.urgency = self._urgency(ticket)  # what resort() orders by
            self.shown[ticket_id] = ticket
        self.unsorted |= resort
        if changed:
            self._restore_cursor(keep_id, keep_index)
            self.refresh_visible(now)
        return changed

    def _urgency(self, ticket: Ticket) -> tuple[Any, ...]:
        """What the row sorts by: its ticket's urgency, or the one it was held at."""
        held = self._held_urgency.get(int(ticket["id"]))
        return held if held is not None else urgency_key(ticket)

    def _on_screen(self, ticket_id: int) -> bool:
        try:
            index = self.get_row_index(str(ticket_id))
        except RowDoesNotExist:
            return False
        first = int(self.scroll_y)
        return first <= index < first + max(self.size.height, 1)

    def refresh_visible(self, now: datetime) -> None:
        """Draw the rows that came into view with changes they missed while out of it."""
        for ticket_id in self.visible_ids():
            if ticket_id in self.stale:
                self.stale.discard(ticket_id)
                self._update_row(ticket_id, self.shown[ticket_id], now)

    def _update_row(self, ticket_id: int, ticket: Ticket, now: datetime) -> bool:
        row_key = str(ticket_id)
        try:
            current = self.get_row(row_key)
        except RowDoesNotExist:
            return False
        changed = False
        for (column, value), old in zip(self.cells(ticket, now).items(), current, strict=True):
            if column == "prio" or _plain(value) != _plain(old) or _style(value) != _style(old):
                self.update_cell(row_key, column, value)
                changed = changed or column != "prio" or _plain(value) != _plain(old)
        return changed

    def visible_ids(self) -> list[int]:
        """Ids of the rows in the viewport (every row is one line high)."""
        first = int(self.scroll_y)
        last = min(first + self.size.height, self.row_count)
        keys = (self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
                for row in range(first, last))
        return [int(key) for key in keys if key is not None]

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.clock is not None and int(old) != int(new):
            now = self.clock()
            self.refresh_visible(now)
            self.tick(now)

    def tick(self, now: datetime) -> None:
        """Refresh the time-dependent cells (SLA countdown, age) of the rows on screen.

        Only the viewport: ticking 10,000 rows every few seconds would stall the
        keyboard; rows scrolled into view are ticked as they arrive.
        """
        for ticket_id in self.visible_ids():
            ticket = self.shown.get(ticket_id)
            if ticket is None:
                continue
            row_key = str(ticket_id)
            cells = self.cells(ticket, now)
            for column in ("sla", "age"):
                old = self.get_cell(row_key, column)
                if _plain(old) != _plain(cells[column]) or _style(old) != _style(cells[column]):
                    self.update_cell(row_key, column, cells[column])

    def _restore_cursor(self, keep_id: int | None, keep_index: int) -> None:
        if not self.row_count:
            return
        if keep_id is not None and keep_id in self.shown:
            self.move_cursor(row=self.get_row_index(str(keep_id)), animate=False)
        else:
            self.move_cursor(row=min(keep_index, self.row_count - 1), animate=False)


def _plain(value: Any) -> str:
    return value.plain if isinstance(value, Text) else str(value)


def _style(value: Any) -> str:
    return f"{value.style}{value.spans}" if isinstance(value, Text) else ""
