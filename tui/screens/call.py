"""112 call-taker: file a call in seconds; one key closes a call that is not an emergency.

Most calls to 112 are not emergencies (Bandung 2022: 615 of 166,591), so F6-F9
file the call and close it with its reason in one key press; ctrl+s files a real
emergency as a ticket, which then appears at the top of the queue.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Select, TextArea

from tui.client import ApiError
from tui.i18n import t
from tui.screens.base import PantauScreen

CLOSE_REASONS = ("prank", "information", "wrong_number", "duplicate")


class CallScreen(PantauScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "file", "file call", id="call.file", priority=True),
        Binding("f6", "close_call('prank')", "prank", id="call.prank", priority=True),
        Binding("f7", "close_call('information')", "info", id="call.info", priority=True),
        Binding("f8", "close_call('wrong_number')", "wrong no.", id="call.wrong", priority=True),
        Binding("f9", "close_call('duplicate')", "dup", id="call.dup", priority=True),
        Binding("ctrl+r", "new_call", "new call", id="call.new", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = t("call.title")
        self.filed: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Label(t("call.title"), classes="screen-title", id="call-state")
        with VerticalScroll(id="call-form"):
            yield Input(placeholder=t("call.phone"), id="call-phone", compact=True)
            yield Input(placeholder=t("call.name"), id="call-name", compact=True)
            yield Input(placeholder=t("call.address"), id="call-address", compact=True)
            yield Select[str]([], prompt="district / kecamatan", id="call-district", compact=True)
            yield Select[str]([], prompt="category / kategori", id="call-category", compact=True)
            yield TextArea(id="call-what")
        yield from self.footer()

    def on_mount(self) -> None:
        ref = self.papp.reference
        self.query_one("#call-district", Select).set_options(
            [(str(d.get("name")), str(d["code"])) for d in ref.get("districts", [])])
        self.query_one("#call-category", Select).set_options(
            [(str(c.get("name")), str(c["code"])) for c in ref.get("categories", [])])
        self.query_one("#call-what", TextArea).border_title = t("call.what")
        self.query_one("#call-phone", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def _body(self) -> dict[str, Any]:
        def value(selector: str) -> str:
            return self.query_one(selector, Input).value.strip()

        body: dict[str, Any] = {
            "caller_number": value("#call-phone"),
            "caller_name": value("#call-name"),
            "location": value("#call-address"),
            "what_happened": self.query_one("#call-what", TextArea).text.strip(),
        }
        for key, selector in (("district", "#call-district"), ("category", "#call-category")):
            chosen = self.query_one(selector, Select).value
            if isinstance(chosen, str):
                body[key] = chosen
        return body

    def action_file(self) -> None:
        if self.filed is None:
            self.file_call(None)

    def action_close_call(self, reason: str) -> None:
        self.file_call(reason)

    def action_new_call(self) -> None:
        self.filed = None
        for box in self.query(Input):
            box.value = ""
        self.query_one("#call-what", TextArea).text = ""
        self.query_one("#call-state", Label).update(t("call.title"))
        self.query_one("#call-phone", Input).focus()

    @work(exclusive=True, group="call", exit_on_error=False)
    async def file_call(self, close_reason: str | None) -> None:
        client = self.papp.client
        try:
            if self.filed is None:
                self.filed = await client.post("/api/calls", self._body())
            ticket = self.filed.get("ticket", self.filed) if self.filed else {}
            ref = ticket.get("reference", "?")
            if close_reason is None:
                self.papp.store_apply([ticket])
                self.query_one("#call-state", Label).update(t("call.filed", ref=ref))
                self.notify(t("call.filed", ref=ref))
                return
            closed = await client.post(f"/api/calls/{ticket['id']}/close",
                                       {"reason": close_reason})
        except ApiError as exc:
            self.notify(exc.detail, severity="error")
            return
        closed_ticket = closed.get("ticket", closed) if isinstance(closed, dict) else {}
        if closed_ticket.get("id"):
            self.papp.store_apply([closed_ticket])
        self.notify(t("call.closed", ref=ref, reason=close_reason))
        self.action_new_call()
