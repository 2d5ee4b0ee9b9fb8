"""Textual's footer with the key descriptions in the console's language.

Binding descriptions are fixed when the classes are defined, but the language is
only known after sign-in (the person's preference), so they are translated here,
where they are shown.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui.i18n import key_label


class LocalFooter(Footer):
    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = key_label(widget.description)
            yield widget
