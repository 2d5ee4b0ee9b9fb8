"""Form rows for fast keyboard entry: a label that stays visible, the field, a hint.

`PickInput` takes one entry of a known list (districts, categories) from a few
typed letters: the best match is shown under the field as it is typed and is
written out when the field is left. It replaces a drop-down that needed enter, arrows or letters,
enter and Tab for every pick.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.fuzzy import Matcher
from textual.widget import Widget
from textual.widgets import Input, Label

from tui.i18n import t


class FieldRow(Horizontal):
    """`label  [field]` with a hint line under the field; marked `-focus` as a whole
    while its field has focus (set here: CSS `:focus-within` is not re-evaluated for
    a sibling of the focused widget when focus moves on)."""

    def __init__(self, label: str, field: Widget, hint: str = "", **kwargs: Any) -> None:
        super().__init__(classes="field-row", **kwargs)
        self.label_text = label
        self.field = field
        self.hint_text = hint

    def compose(self) -> ComposeResult:
        yield Label(self.label_text, classes="field-label")
        with Vertical(classes="field-body"):
            yield self.field
            yield Label(self.hint_text, classes="field-hint")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.add_class("-focus")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.remove_class("-focus")

    def hint(self, text: str, *, warn: bool = False) -> None:
        self.query_one(".field-hint", Label).update(text)
        self.set_class(warn, "-warn")


class FieldBlock(Vertical):
    """A label above a taller field (the description), marked `-focus` like a row."""

    def __init__(self, label: str, field: Widget, **kwargs: Any) -> None:
        super().__init__(classes="field-block", **kwargs)
        self.label_text = label
        self.field = field

    def compose(self) -> ComposeResult:
        yield Label(self.label_text, classes="field-label -above")
        yield self.field

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.add_class("-focus")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.remove_class("-focus")


@dataclass(frozen=True)
class Pickable:
    """One entry: what is sent (`value`), what is shown, and the words it answers to."""

    value: str
    label: str
    words: tuple[str, ...] = ()


WORD_SPLIT = re.compile(r"[\s/()·,.-]+")


def rank(query: str, entries: list[Pickable]) -> list[Pickable]:
    """Entries matching `query`, best first: the exact code or name, then a name that
    starts with it, then a word that does, then a fuzzy match of the letters."""
    q = query.strip().lower()
    if not q:
        return []
    matcher = Matcher(q)
    scored: list[tuple[int, float, int, Pickable]] = []
    for index, entry in enumerate(entries):
        names = [entry.value.lower(), entry.label.lower(), *(w.lower() for w in entry.words)]
        if q in names:
            tier, fuzzy = 0, 0.0
        elif any(name.startswith(q) for name in names):
            tier, fuzzy = 1, 0.0
        elif any(word.startswith(q) for name in names for word in WORD_SPLIT.split(name)):
            tier, fuzzy = 2, 0.0
        else:
            fuzzy = max(matcher.match(name) for name in names)
            if fuzzy <= 0:
                continue
            tier = 3
        scored.append((tier, -fuzzy, index, entry))
    return [entry for *_, entry in sorted(scored, key=lambda s: s[:3])]


class PickInput(Input):
    """Type a few letters of a district or category; the best match is what counts."""

    def __init__(self, entries: Callable[[], list[Pickable]], **kwargs: Any) -> None:
        super().__init__(compact=True, **kwargs)
        self.entries = entries  # read when typed: the lists load after the screen opens
        self.matches: list[Pickable] = []

    @property
    def chosen(self) -> Pickable | None:
        return self.matches[0] if self.matches else None

    def clear_pick(self) -> None:
        self.matches = []
        self.value = ""

    def watch_value(self, value: str) -> None:
        """Matched as the value changes, here and not on the screen's Changed handler,
        so leaving the field (queued behind the letters) sees every letter typed."""
        self.refresh_matches()

    def refresh_matches(self) -> None:
        """Recompute the matches for what is typed and say in the row's hint what counts."""
        self.matches = rank(self.value, self.entries())
        row = next((a for a in self.ancestors if isinstance(a, FieldRow)), None)
        if row is None:
            return
        if not self.value.strip():
            row.hint(t("call.pick.hint"))
        elif not self.matches:
            row.hint(t("call.pick.none"), warn=True)
        else:
            others = ", ".join(m.label for m in self.matches[1:3])
            row.hint("→ " + self.matches[0].label
                     + (f"  ({t('call.pick.also', others=others)})" if others else ""))

    def on_blur(self, event: events.Blur) -> None:
        """Leaving the field writes out the entry that counts, so it reads as taken
        (after every letter typed before leaving: the blur is queued behind them)."""
        if self.chosen is not None and self.value != self.chosen.label:
            self.value = self.chosen.label  # ranks the same entry first again
