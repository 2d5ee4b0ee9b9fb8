"""Small modal screens: confirm, text prompt, fuzzy picker, and help.

Each returns its answer through `dismiss`, so callers use
`push_screen(Modal(...), callback)` and never block the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.i18n import t


class ConfirmModal(ModalScreen[bool]):
    """Yes/no for destructive and shift-level actions (k9s asks before delete)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "no", id="confirm.no"),
    ]

    def __init__(self, question: str, subject: str = "") -> None:
        super().__init__()
        self.question = question
        self.subject = subject

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -danger"):
            yield Label(self.question, classes="dialog-title")
            yield from _subject(self.subject)
            yield Static(f"{t('confirm.yes')}   {t('confirm.no')}")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PromptModal(ModalScreen[list[str] | None]):
    """One or more text fields; enter on the last field submits, esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="prompt.cancel"),
    ]

    def __init__(self, title: str, placeholders: list[str],
                 values: list[str] | None = None, subject: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholders = placeholders
        self.values = values or [""] * len(placeholders)
        self.subject = subject

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield from _subject(self.subject)
            for i, (hint, value) in enumerate(zip(self.placeholders, self.values, strict=True)):
                yield Input(value=value, placeholder=hint, id=f"field-{i}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
            return
        answers = [field.value.strip() for field in inputs]
        if answers[0]:
            self.dismiss(answers)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass
class Choice:
    value: str
    label: str


class PickerModal(ModalScreen[str | None]):
    """Type to fuzzy-filter a list; enter picks the highlighted entry.

    Only an explicit `selected` entry (the routing suggestion) is highlighted when
    the picker opens, so accepting it is a single enter; without one nothing is,
    and enter alone picks nothing (it says to choose) rather than whatever happens
    to sort first. Typing highlights the best match: that is the operator's choice.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="picker.cancel"),
        Binding("down", "move(1)", "next", show=False, id="picker.down"),
        Binding("up", "move(-1)", "previous", show=False, id="picker.up"),
    ]

    def __init__(self, title: str, choices: list[Choice], selected: str | None = None,
                 subject: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.selected = selected
        self.subject = subject

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield from _subject(self.subject)
            yield Input(placeholder=t("picker.type"), id="picker-query")
            yield OptionList(id="picker-options")
            yield Label("", id="picker-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        if query:
            matcher = Matcher(query)
            scored = [(matcher.match(c.label), c) for c in self.choices]
            ranked = [c for score, c in sorted(scored, key=lambda sc: -sc[0]) if score > 0]
        else:
            ranked = self.choices
        options.add_options([Option(matcher.highlight(c.label) if query else c.label, id=c.value)
                             for c in ranked])
        if not ranked:
            return
        if query:
            options.highlighted = 0
        else:
            index = next((i for i, c in enumerate(ranked) if c.value == self.selected), None)
            options.highlighted = index

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._pick()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def _pick(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)
        else:
            self.query_one("#picker-hint", Label).update(t("picker.pick_one"))

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if not options.option_count:
            return
        if options.highlighted is None:
            options.highlighted = 0 if step > 0 else options.option_count - 1
        else:
            options.highlighted = max(0, min(options.option_count - 1,
                                             options.highlighted + step))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _subject(subject: str) -> ComposeResult:
    """The thing a modal acts on, under its title (e.g. the ticket's summary line)."""
    if subject:
        yield Label(subject, classes="dialog-subject")


class HelpModal(ModalScreen[None]):
    """The keys of the screen underneath, read from its live bindings (so a remap shows)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "dismiss_help", "close", id="help.close"),
        Binding("j", "scroll_help('down')", "down", show=False, id="help.down"),
        Binding("k", "scroll_help('up')", "up", show=False, id="help.up"),
        Binding("g", "scroll_help('home')", "top", show=False, id="help.top"),
        Binding("G", "scroll_help('end')", "bottom", show=False, id="help.bottom"),
    ]

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self.rows), default=4)
        body = "\n".join(f"{key:>{width}}  {what}" for key, what in self.rows)
        with VerticalScroll(classes="dialog help"):
            yield Label(f"{t('help.title')}: {self.title_text}", classes="dialog-title")
            yield Static(body)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)

    def action_scroll_help(self, where: str) -> None:
        """j/k/g/G as in the lists; the arrows, PgUp/PgDn, Home/End work as well."""
        box = self.query_one(VerticalScroll)
        {"down": box.scroll_down, "up": box.scroll_up, "home": box.scroll_home,
         "end": box.scroll_end}[where](animate=False)
