"""The shift: who is rostered and checked in, staffing against the minimum, and the
supervisor's shift commands (open, close with handover notes), each confirmed.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from tui.client import ApiError
from tui.i18n import t
from tui.roles import OPERATORS, SUPERVISORS
from tui.screens.base import PantauScreen
from tui.screens.modals import ConfirmModal, PromptModal
from tui.tickets import local

SUPERVISOR_ACTIONS = ("open_shift", "close_shift", "ack_handover", "assign", "swap")


class ShiftScreen(PantauScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "check('checkin')", "check in", id="shift.checkin"),
        Binding("u", "check('checkout')", "check out", id="shift.checkout"),
        Binding("O", "open_shift", "open shift (supervisor)", id="shift.open"),
        Binding("C", "close_shift", "close shift (supervisor)", id="shift.close"),
        Binding("A", "ack_handover", "acknowledge handover (supervisor)",
                id="shift.ack_handover"),
        Binding("plus", "assign", "assign someone (supervisor)", id="shift.assign"),
        Binding("w", "swap", "swap two people (supervisor)", id="shift.swap"),
        Binding("R", "reload", "reload", show=False, id="shift.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = t("shift.title")
        self.shift: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Label(t("shift.title"), id="shift-title", classes="screen-title")
        with VerticalScroll(id="shift-body"):
            yield Static(id="shift-staffing")
            yield Static(id="shift-handover")
            yield Label(t("shift.roster"), classes="section")
            yield Static(id="shift-roster")
        yield from self.footer()

    def on_mount(self) -> None:
        self.papp.frame_listeners.append(self._frame)
        self.query_one("#shift-body").focus()
        self.load()

    def on_unmount(self) -> None:
        if self._frame in self.papp.frame_listeners:
            self.papp.frame_listeners.remove(self._frame)

    def _frame(self, frame: dict[str, Any]) -> None:
        if str(frame.get("kind", "")).startswith("shift."):
            self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in SUPERVISOR_ACTIONS and not self.papp.has_role(*SUPERVISORS):
            return None
        if action == "check" and not self.papp.has_role(*OPERATORS):
            return None
        return True

    @work(exclusive=True, group="shift-load", exit_on_error=False)
    async def load(self) -> None:
        try:
            self.shift = await self.papp.client.get("/api/shifts/current")
        except ApiError as exc:
            text = t("unavailable", what=t("shift.title")) if exc.not_available else exc.detail
            self.query_one("#shift-staffing", Static).update(escape(text))
            return
        self.render_shift()

    def render_shift(self) -> None:
        shift = self.shift or {}
        window = "–".join(_hhmm(shift.get(k)) for k in ("starts_at", "ends_at"))
        self.query_one("#shift-title", Label).update(escape(
            f"{t('shift.title')}: {shift.get('name') or shift.get('template')} "
            f"{shift.get('day', '')} {window} · "
            f"{t('wallterm.shift_status.' + str(shift.get('status', '?')))}"))
        lines = []
        for line in shift.get("staffing", []):
            short = line["present"] < line["minimum"]
            mark = "[$error]" if short else "[$success]"
            lines.append(f"{mark}{line['role']:>12}  {line['present']}/{line['rostered']}"
                         f"  (min {line['minimum']})[/]")
        if shift.get("understaffed"):
            lines.append(f"[$warning]{t('shift.understaffed')}[/]")
        self.query_one("#shift-staffing", Static).update("\n".join(lines) or "-")
        self.query_one("#shift-handover", Static).update(self._handover_text())
        roster = []
        for person in shift.get("roster", []):
            state = (f"out {_hhmm(person.get('checked_out_at'))}" if person.get("checked_out_at")
                     else f"in {_hhmm(person.get('checked_in_at'))}"
                     if person.get("checked_in_at") else "-")
            roster.append(escape(f"{person.get('role', ''):>12}  {person.get('username', ''):<16}"
                                 f" {state}"))
        self.query_one("#shift-roster", Static).update("\n".join(roster) or "-")

    def _shift_id(self) -> int | None:
        shift_id = (self.shift or {}).get("id")
        if shift_id is None:
            self.notify(t("shift.unplanned"), severity="warning")
        return int(shift_id) if shift_id is not None else None

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="shift-command", exit_on_error=False)
    async def run_shift_action(self, action: str, *args: str) -> None:
        """A palette command: wait for the shift to be loaded, then act as its key would."""
        for _ in range(100):
            if self.shift is not None:
                break
            await asyncio.sleep(0.05)
        if self.check_action(action, tuple(args)):
            getattr(self, f"action_{action}")(*args)

    def action_check(self, which: str) -> None:
        if (shift_id := self._shift_id()) is not None:
            self.post(f"/api/shifts/{shift_id}/{which}", {}, which)

    def action_open_shift(self) -> None:
        shift_id = self._shift_id()
        if shift_id is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.post(f"/api/shifts/{shift_id}/open", {}, "opened")

        self.app.push_screen(ConfirmModal(t("confirm.shift_open", shift=self._label())),
                             answered)

    def action_close_shift(self) -> None:
        shift_id = self._shift_id()
        if shift_id is None:
            return

        def noted(values: list[str] | None) -> None:
            if values is None:
                return

            def answered(yes: bool | None) -> None:
                if yes:
                    self.post(f"/api/shifts/{shift_id}/close", {"notes": values[0]}, "closed")

            self.app.push_screen(ConfirmModal(t("confirm.shift_close", shift=self._label())),
                                 answered)

        self.app.push_screen(PromptModal(t("shift.handover"), ["…"]), noted)

    def _pending_handover(self) -> dict[str, Any] | None:
        pending = (self.shift or {}).get("incoming_handovers") or []
        return pending[0] if pending else None

    def _handover_text(self) -> str:
        """The note the incoming supervisor must read, until they acknowledge it."""
        h = self._pending_handover()
        if h is None:
            return ""
        summary = h.get("summary") or {}
        counts = ", ".join(f"{k.replace('_', ' ')}: {len(v) if isinstance(v, list) else v}"
                           for k, v in summary.items() if isinstance(v, list | int))
        return (f"[$warning]{escape(t('shift.handover_pending'))}[/]\n"
                f"{escape(str(h.get('shift', '')))} · {escape(str(h.get('written_by') or ''))}"
                f"\n{escape(str(h.get('notes') or ''))}\n{escape(counts)}")

    def action_ack_handover(self) -> None:
        h = self._pending_handover()
        if h is None:
            self.notify(t("shift.no_handover"), severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.post(f"/api/handovers/{h['id']}/acknowledge", {}, t("shift.handover_ack"))

        self.app.push_screen(ConfirmModal(t("confirm.handover", shift=str(h.get("shift", "")))),
                             answered)

    def action_assign(self) -> None:
        """Roster someone on this shift (confirmed: it changes a live shift)."""
        shift_id = self._shift_id()
        if shift_id is None:
            return

        def asked(values: list[str] | None) -> None:
            if not values:
                return
            body: dict[str, Any] = {"person": values[0]}
            if len(values) > 1 and values[1]:
                body["role"] = values[1]

            def answered(yes: bool | None) -> None:
                if yes:
                    self.post(f"/api/shifts/{shift_id}/assign", body, f"+ {values[0]}")

            self.app.push_screen(ConfirmModal(t("confirm.assign", person=values[0],
                                                shift=self._label())), answered)

        self.app.push_screen(PromptModal(t("shift.assign"), [
            t("shift.username"), "call_center / expert / police / supervisor"]), asked)

    def action_swap(self) -> None:
        """Replace one rostered person by another (confirmed)."""
        shift_id = self._shift_id()
        if shift_id is None:
            return

        def asked(values: list[str] | None) -> None:
            if not values or len(values) < 2 or not values[1]:
                return
            body = {"out": values[0], "in": values[1], "reason": values[2] if len(values) > 2
                    else ""}

            def answered(yes: bool | None) -> None:
                if yes:
                    self.post(f"/api/shifts/{shift_id}/swap", body,
                              f"{values[0]} → {values[1]}")

            self.app.push_screen(ConfirmModal(t("confirm.swap", out=values[0], into=values[1],
                                                shift=self._label())), answered)

        self.app.push_screen(PromptModal(t("shift.swap"), [
            t("shift.swap_out"), t("shift.swap_in"), t("shift.reason")]), asked)

    def _label(self) -> str:
        shift = self.shift or {}
        return f"{shift.get('name') or shift.get('template')} {shift.get('day', '')}"

    @work(group="shift-ops", exit_on_error=False)
    async def post(self, path: str, body: dict[str, Any], done: str) -> None:
        try:
            await self.papp.client.post(path, body)
        except ApiError as exc:
            self.notify(exc.detail, severity="error")
            return
        self.notify(f"{self._label()}: {done}")
        self.load()


def _hhmm(value: str | None) -> str:
    return local(value, "%H:%M", "--:--")
