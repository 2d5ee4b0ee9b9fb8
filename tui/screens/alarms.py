"""Panic alarms: the open ones, oldest unacknowledged first; `a` acknowledges, `d` dispatches."""

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
from tui.tickets import age_text, local

STATE_ORDER = {"raised": 0, "acknowledged": 1, "dispatched": 2}


class AlarmsScreen(PantauScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "acknowledge", id="alarms.acknowledge"),
        Binding("d", "dispatch", "dispatch", id="alarms.dispatch"),
        Binding("s", "resolve", "resolve", id="alarms.resolve"),
        Binding("j", "cursor(1)", "down", show=False, id="alarms.down"),
        Binding("k", "cursor(-1)", "up", show=False, id="alarms.up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = t("alarms.title")

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Label(t("alarms.title"), classes="screen-title")
        yield Static("", id="alarms-note")
        yield DataTable(id="alarms-table", cursor_type="row")
        yield Static("", id="alarm-timeline")
        yield from self.footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in (("status", "status", 12), ("who", "who", 18),
                                  ("where", "where", 24), ("age", "age", 5), ("lvl", "level", 3)):
            table.add_column(t(f"alarms.col.{label}"), key=key, width=width)
        self.papp.frame_listeners.append(self._frame)
        self.watch(self.papp, "unacked_alarms", lambda _: self.refresh_rows(), init=False)
        table.focus()
        self.refresh_rows()
        if self.papp.alarms_available is None:
            self.papp.load_alarms()

    def on_unmount(self) -> None:
        if self._frame in self.papp.frame_listeners:
            self.papp.frame_listeners.remove(self._frame)

    def _frame(self, frame: dict[str, Any]) -> None:
        if str(frame.get("kind", "")).startswith("alarm."):
            self.refresh_rows()

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

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_timeline()

    @work(exclusive=True, group="alarm-timeline", exit_on_error=False)
    async def show_timeline(self) -> None:
        alarm_id = self.selected_id()
        box = self.query_one("#alarm-timeline", Static)
        if alarm_id is None:
            box.update("")
            return
        try:
            body = await self.papp.client.get(f"/api/alarms/{alarm_id}")
        except ApiError:
            return
        steps = body.get("timeline") or [] if isinstance(body, dict) else []
        box.update("\n".join(escape(f"{_when(s.get('at'))} "
                                    + event_sentence(s, str(s.get("kind", "")))
                                    + (f": {s['note']}" if s.get("note") else ""))
                             for s in steps[-6:]))

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.cursor_row + step)

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
                                         [t("alarms.unit"), t("alarms.note")]),
                             answered)

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
                                         selected="resolved"), chosen)

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
