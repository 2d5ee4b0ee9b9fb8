"""Panic alarms: the open ones, oldest unacknowledged first; `a` acknowledges, `d` dispatches.

Under the table, the selected alarm's P1 ticket (live), its nearest cameras, and
its contacts, with a warning to call them whenever a message was not sent; the
ages tick every second, as the clock an operator is judged by does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Label, Static

from tui.client import ApiError
from tui.i18n import event_sentence, t
from tui.roles import OPERATORS
from tui.screens.base import PantauScreen
from tui.screens.modals import Choice, PickerModal, PromptModal
from tui.tickets import Ticket, age_text, local
from tui.widgets.alarm_detail import cameras_line, contacts_lines, ticket_line

STATE_ORDER = {"raised": 0, "acknowledged": 1, "dispatched": 2}
AGE_TICK_SECONDS = 1.0


class AlarmsScreen(PantauScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "acknowledge", id="alarms.acknowledge"),
        Binding("d", "dispatch", "dispatch", id="alarms.dispatch"),
        Binding("s", "resolve", "resolve", id="alarms.resolve"),
        Binding("o", "open_ticket", "open ticket", id="alarms.ticket"),
        Binding("j", "cursor(1)", "down", show=False, id="alarms.down"),
        Binding("k", "cursor(-1)", "up", show=False, id="alarms.up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = t("alarms.title")
        self.details: dict[int, dict[str, Any]] = {}  # GET /api/alarms/{id}, by alarm
        self.closed_tickets: dict[int, Ticket] = {}  # alarm tickets no longer in the queue

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Label(t("alarms.title"), classes="screen-title")
        yield Static("", id="alarms-note")
        yield DataTable(id="alarms-table", cursor_type="row")
        yield Static("", id="alarm-detail")
        yield Static("", id="alarm-contacts")
        yield Static("", id="alarm-timeline")
        yield from self.footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in (("status", "status", 12), ("who", "who", 18),
                                  ("where", "where", 24), ("age", "age", 5), ("lvl", "level", 3)):
            table.add_column(t(f"alarms.col.{label}"), key=key, width=width)
        self.papp.frame_listeners.append(self._frame)
        self.papp.ticket_listeners.append(self._tickets_changed)
        self.watch(self.papp, "unacked_alarms", lambda _: self.refresh_rows(), init=False)
        self.set_interval(AGE_TICK_SECONDS, self._tick_ages)
        table.focus()
        self.refresh_rows()
        if self.papp.alarms_available is None:
            self.papp.load_alarms()

    def on_unmount(self) -> None:
        if self._frame in self.papp.frame_listeners:
            self.papp.frame_listeners.remove(self._frame)
        if self._tickets_changed in self.papp.ticket_listeners:
            self.papp.ticket_listeners.remove(self._tickets_changed)

    def _frame(self, frame: dict[str, Any]) -> None:
        """alarm.* changes a row; alarm_contact.* (a message's outcome) its detail."""
        kind = str(frame.get("kind", ""))
        if kind.startswith("alarm."):
            self.refresh_rows()
        elif kind.startswith("alarm_contact."):
            subject = frame.get("subject") or {}
            if str(subject.get("id")) == str(self.selected_id()):
                self.show_timeline()

    def _tickets_changed(self, changed: set[int]) -> None:
        alarm = self.selected_alarm()
        if alarm is not None and alarm.get("ticket_id") in changed:
            self.render_detail()

    def _tick_ages(self) -> None:
        """Only the age cells, every second (a whole refresh would reset the table)."""
        table = self.query_one(DataTable)
        now = self.papp.clock()
        for row_key in list(table.rows):
            alarm = self.papp.alarms.get(int(str(row_key.value)))
            if alarm is not None:
                age = age_text({"created_at": alarm.get("raised_at")}, now)
                if str(table.get_cell(row_key, "age")) != age:
                    table.update_cell(row_key, "age", age)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("acknowledge", "dispatch", "resolve") and not self.papp.has_role(*OPERATORS):
            return None
        return True

    def refresh_rows(self) -> None:
        note = self.query_one("#alarms-note", Static)
        if self.papp.alarms_available is False:
            note.update(t("unavailable", what=t("alarms.title")))
        else:
            note.update("" if self.papp.alarms else t("alarms.none"))
        note.set_class(self.papp.alarms_available is not False and bool(self.papp.alarms),
                       "-empty")
        table = self.query_one(DataTable)
        keep = self.selected_id()
        now = self.papp.clock()
        alarms = sorted(self.papp.alarms.values(),
                        key=lambda a: (STATE_ORDER.get(a.get("status", ""), 9),
                                       a.get("raised_at") or ""))
        with self.app.batch_update():
            table.clear()
            for alarm in alarms:
                status = str(alarm.get("status"))
                style = self.get_component_rich_style("alarms--raised", partial=True) \
                    if status == "raised" else ""
                table.add_row(Text(t(f"alarm_status.{status}"), style=style),
                              alarm.get("owner_name") or
                              alarm.get("device") or "", alarm.get("address") or "",
                              age_text({"created_at": alarm.get("raised_at")}, now),
                              str(alarm.get("escalation_level") or 0), key=str(alarm["id"]))
            if keep is not None and str(keep) in {str(a["id"]) for a in alarms}:
                table.move_cursor(row=table.get_row_index(str(keep)))
        self.show_timeline()

    COMPONENT_CLASSES: ClassVar[set[str]] = {"alarms--raised"}

    def selected_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    def selected_alarm(self) -> dict[str, Any] | None:
        alarm_id = self.selected_id()
        return self.papp.alarms.get(alarm_id) if alarm_id is not None else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_timeline()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_ticket()

    def alarm_ticket(self, alarm: dict[str, Any]) -> Ticket | None:
        ticket_id = alarm.get("ticket_id")
        if ticket_id is None:
            return None
        return self.papp.store.get(int(ticket_id)) or self.closed_tickets.get(int(ticket_id))

    def render_detail(self) -> None:
        """Ticket, cameras and contacts of the selected alarm, from what is known now."""
        alarm = self.selected_alarm()
        detail = self.query_one("#alarm-detail", Static)
        contacts = self.query_one("#alarm-contacts", Static)
        if alarm is None:
            detail.update("")
            contacts.update("")
            contacts.remove_class("-warn")
            return
        detail.update(escape(ticket_line(alarm, self.alarm_ticket(alarm)) + "\n"
                             + cameras_line(alarm)))
        known = self.details.get(int(alarm["id"]))
        lines, warn = contacts_lines(None if known is None else
                                     list(known.get("notifications") or []))
        contacts.update(escape("\n".join(lines)))
        contacts.set_class(warn, "-warn")

    @work(exclusive=True, group="alarm-timeline", exit_on_error=False)
    async def show_timeline(self) -> None:
        """The selected alarm's detail now, then its contacts' states and timeline."""
        self.render_detail()
        alarm_id = self.selected_id()
        box = self.query_one("#alarm-timeline", Static)
        if alarm_id is None:
            box.update("")
            return
        try:
            body = await self.papp.fetch_alarm(alarm_id)
        except ApiError:
            return
        self.details[alarm_id] = body
        alarm = self.papp.alarms.get(alarm_id)
        ticket_id = (alarm or {}).get("ticket_id")
        if ticket_id is not None and self.papp.store.get(int(ticket_id)) is None:
            try:  # closed already, so not in the open queue: read it once
                self.closed_tickets[int(ticket_id)] = await self.papp.client.ticket(
                    int(ticket_id))
            except ApiError:
                pass
        self.render_detail()
        steps = body.get("timeline") or []
        box.update("\n".join(escape(f"{_when(s.get('at'))} "
                                    + event_sentence(s, str(s.get("kind", "")))
                                    + (f": {s['note']}" if s.get("note") else ""))
                             for s in steps[-4:]))

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.cursor_row + step)

    def action_open_ticket(self) -> None:
        from tui.screens.ticket import TicketDetailScreen

        alarm = self.selected_alarm()
        if alarm is None:
            return
        if alarm.get("ticket_id") is None:
            self.notify(t("alarms.ticket_pending"), severity="warning")
            return
        self.app.push_screen(TicketDetailScreen(int(alarm["ticket_id"])))

    def action_acknowledge(self) -> None:
        if (alarm_id := self.selected_id()) is not None:
            self.post_alarm(alarm_id, "acknowledge", {})

    def action_dispatch(self) -> None:
        alarm_id = self.selected_id()
        if alarm_id is None:
            return

        def answered(values: list[str] | None) -> None:
            if values:
                self.post_alarm(alarm_id, "dispatch", {"unit": values[0], "note": values[1]})

        self.app.push_screen(PromptModal(t("alarms.dispatch", ref=alarm_id),
                                         [t("alarms.unit"), t("alarms.note")],
                                         subject=self._subject(alarm_id)), answered)

    def action_resolve(self) -> None:
        alarm_id = self.selected_id()
        if alarm_id is None:
            return

        def chosen(outcome: str | None) -> None:
            if outcome:
                self.post_alarm(alarm_id, "resolve", {"outcome": outcome})

        self.app.push_screen(PickerModal(f"#{alarm_id}", [
            Choice("resolved", t("alarm_status.resolved")),
            Choice("false_alarm", t("alarm_status.false_alarm"))],
                                         selected="resolved", subject=self._subject(alarm_id)),
                             chosen)

    def _subject(self, alarm_id: int) -> str:
        """The alarm a modal acts on: number, who, where, state."""
        alarm = self.papp.alarms.get(alarm_id) or {}
        parts = [f"#{alarm_id}", str(alarm.get("owner_name") or alarm.get("device") or ""),
                 str(alarm.get("address") or ""),
                 t(f"alarm_status.{alarm.get('status')}") if alarm.get("status") else ""]
        return " · ".join(part for part in parts if part)

    @work(group="alarm-ops", exit_on_error=False)
    async def post_alarm(self, alarm_id: int, action: str, body: dict[str, Any]) -> None:
        try:
            result = await self.papp.client.post(f"/api/alarms/{alarm_id}/{action}", body)
        except ApiError as exc:
            self.notify(exc.detail, severity="error")
            return
        alarm = result.get("alarm", result) if isinstance(result, dict) else None
        if isinstance(alarm, dict) and "id" in alarm:
            self.papp.apply_alarm(alarm)
        self.notify(f"#{alarm_id}: {action}")
        self.refresh_rows()


def _when(value: str | None) -> str:
    return local(value, "%H:%M:%S", "--:--:--")
