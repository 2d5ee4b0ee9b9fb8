"""112 call-taker: file a call in seconds; one key closes a call that is not an emergency.

Most calls to 112 are not emergencies (Bandung 2022: 615 of 166,591), so F6-F9
file the call and close it with its reason in one key press from any field (the
server needs no place for those, and the reason is what happened when nothing
was typed); ctrl+s files a real emergency as a ticket, which then appears at the
top of the queue. District and category are picked by typing a few letters.

Every call starts from an empty form: nothing of the previous caller's (their
district, their category and with it its priority) is carried into the next.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, Static, TextArea

from tui import i18n
from tui.client import ApiError
from tui.i18n import t
from tui.screens.base import PantauScreen
from tui.widgets.fields import FieldBlock, FieldRow, Pickable, PickInput

CLOSE_REASONS = ("prank", "information", "wrong_number", "duplicate")
# The server's field names, mapped to the rows that hold them (for its 400s).
FIELD_ROWS = {"caller_number": "call-phone", "caller_name": "call-name",
              "location": "call-address", "district": "call-district",
              "category": "call-category", "what_happened": "call-what"}


class CallScreen(PantauScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        # ctrl+r before F6-F9: on a narrow footer the F-keys are the ones cut, and
        # they are spelled out in the form itself.
        # enter moves on at once, when the key arrives (a priority binding), not when
        # the field gets round to it: what is typed right after it (a fast typist,
        # or keys arriving in one burst over SSH) lands in the next field.
        Binding("enter", "next_field", "next field", show=False, id="call.next",
                priority=True),
        Binding("ctrl+s", "file", "file call", id="call.file", priority=True),
        Binding("ctrl+r", "new_call", "new call", id="call.new", priority=True),
        Binding("f6", "close_call('prank')", "prank", id="call.prank", priority=True),
        Binding("f7", "close_call('information')", "info", id="call.info", priority=True),
        Binding("f8", "close_call('wrong_number')", "wrong no.", id="call.wrong", priority=True),
        Binding("f9", "close_call('duplicate')", "dup", id="call.dup", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = t("call.title")
        self.filed: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Label(t("call.title"), classes="screen-title", id="call-state")
        with VerticalScroll(id="call-form"):
            yield FieldRow(t("call.label.phone"),
                           Input(placeholder=t("call.phone"), id="call-phone", compact=True))
            yield FieldRow(t("call.label.name"),
                           Input(placeholder=t("call.name"), id="call-name", compact=True))
            yield FieldRow(t("call.label.location"),
                           Input(placeholder=t("call.address"), id="call-address",
                                 compact=True))
            yield FieldRow(t("call.label.district"),
                           PickInput(self._districts, id="call-district"),
                           t("call.pick.hint"))
            yield FieldRow(t("call.label.category"),
                           PickInput(self._categories, id="call-category"),
                           t("call.pick.hint"))
            yield FieldBlock(t("call.label.what"), TextArea(id="call-what"), id="call-what-block")
            yield Static(t("call.close_keys"), id="call-close-keys")
        yield from self.footer()

    def on_mount(self) -> None:
        self.query_one("#call-phone", Input).focus()

    # -- the pick lists, from the reference data the app loaded ---------------------------
    def _districts(self) -> list[Pickable]:
        return [Pickable(str(d["code"]), str(d.get("name") or d["code"]))
                for d in self.papp.reference.get("districts", [])]

    def _categories(self) -> list[Pickable]:
        indonesian = i18n.language() == "id"
        out = []
        for c in self.papp.reference.get("categories", []):
            name_id, name_en = str(c.get("name") or c["code"]), str(c.get("name_en") or "")
            shown = name_id if indonesian or not name_en else name_en
            other = name_en if shown == name_id else name_id
            prio = c.get("default_priority")
            out.append(Pickable(str(c["code"]), f"{shown} · P{prio}" if prio else shown,
                                (shown, other) if other else (shown,)))
        return out

    # -- moving through the form ----------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        row = _row_of(event.input)
        if row is not None and row.has_class("-invalid"):
            row.remove_class("-invalid")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_field":
            # In the description, enter is a new line.
            return isinstance(self.focused, Input)
        return True

    def action_next_field(self) -> None:
        """enter: the next field (a pick field writes out its match as it is left)."""
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
            picked = self.query_one(selector, PickInput)
            if picked.value.strip() and picked.chosen is not None:
                body[key] = picked.chosen.value
            elif picked.value.strip():
                body[key] = picked.value.strip()  # the server names what it does not know
        return body

    # -- the keys -------------------------------------------------------------------------
    def action_file(self) -> None:
        if self.filed is None:
            self.file_call(None)

    def action_close_call(self, reason: str) -> None:
        self.file_call(reason)

    def action_new_call(self) -> None:
        """An empty form, focus on the first field: nothing carried from the last call."""
        self.filed = None
        for row in self.query(".field-row, .field-block"):
            row.remove_class("-invalid")
        for row in self.query(FieldRow):
            row.hint(row.hint_text)
        for box in self.query(Input):
            if isinstance(box, PickInput):
                box.clear_pick()
            else:
                box.value = ""
        self.query_one("#call-what", TextArea).text = ""
        self._lock(False)
        self.query_one("#call-state", Label).update(t("call.title"))
        self.query_one("#call-phone", Input).focus()

    def _lock(self, locked: bool) -> None:
        """A filed call's fields are read-only: an edit after filing would reach nobody."""
        for box in self.query(Input):
            box.disabled = locked
        self.query_one("#call-what", TextArea).disabled = locked

    def _mark_invalid(self, fields: dict[str, Any]) -> None:
        for name, row_id in FIELD_ROWS.items():
            if name not in fields:
                continue
            row = _row_of(self.query_one(f"#{row_id}"))
            if row is not None:
                row.add_class("-invalid")
                row.hint(str(fields[name]), warn=True)
            elif name == "what_happened":
                self.query_one("#call-what-block").add_class("-invalid")

    @work(exclusive=True, group="call", exit_on_error=False)
    async def file_call(self, close_reason: str | None) -> None:
        client = self.papp.client
        reason_text = t(f"call.reason.{close_reason}") if close_reason else ""
        try:
            if self.filed is None:
                body = self._body()
                if close_reason is not None:
                    # One request files and closes it; the reason is what happened
                    # when the call-taker typed nothing else.
                    body["close_reason"] = close_reason
                    body["what_happened"] = body["what_happened"] or reason_text
                filed = await client.post("/api/calls", body)
                ticket = filed.get("ticket", filed) if isinstance(filed, dict) else {}
                if close_reason is None:
                    self.filed = ticket
            else:
                ticket = await client.post(f"/api/calls/{self.filed['id']}/close",
                                           {"reason": close_reason})
        except ApiError as exc:
            self._mark_invalid(exc.fields)
            self.notify(exc.detail, severity="error")
            return
        ref = ticket.get("reference", "?")
        if ticket.get("id"):
            self.papp.store_apply([ticket])
        if close_reason is None:
            self._lock(True)
            self.query_one("#call-state", Label).update(t("call.filed_next", ref=ref))
            self.notify(t("call.filed", ref=ref))
            return
        self.notify(t("call.closed", ref=ref, reason=reason_text))
        self.action_new_call()


def _row_of(widget: Widget) -> FieldRow | None:
    return next((a for a in widget.ancestors if isinstance(a, FieldRow)), None)
