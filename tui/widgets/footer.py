"""The footer: two lines of key hints in the console's language.

The top line holds the keys of the screen in front of you, the bottom line the
keys that are the same everywhere (F1 help, F2-F5 the screens, ctrl+p commands).
On one line the screen's keys pushed F2-F5 off an 80-column terminal, so an
operator never saw how to reach the alarms.

Binding descriptions are fixed when the classes are defined, but the language is
only known after sign-in (the person's preference), so they are translated here,
where they are shown.
"""

from __future__ import annotations

from typing import Any, Literal

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui.i18n import key_label

Scope = Literal["screen", "app"]


class LocalFooter(Footer):
    """One line of the footer: the screen's own keys, or the app's (`scope`)."""

    def __init__(self, scope: Scope = "screen", **kwargs: Any) -> None:
        super().__init__(show_command_palette=scope == "app", compact=True, **kwargs)
        self.scope = scope
        self.add_class(f"-{scope}")

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        seen: set[str] = set()
        keys: list[FooterKey] = []
        for node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            if (node is self.app) != (self.scope == "app"):
                continue
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                continue  # shown at the right by Footer itself (app line)
            seen.add(binding.action)
            keys.append(FooterKey(binding.key, self.app.get_key_display(binding),
                                  key_label(binding.description), binding.action,
                                  disabled=not enabled,
                                  tooltip=tooltip).data_bind(compact=Footer.compact))
        yield from keys
        palette = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if self.scope == "app" and palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            _node, binding, enabled, _tooltip = palette
            yield FooterKey(binding.key, self.app.get_key_display(binding),
                            key_label(binding.description), binding.action,
                            classes="-command-palette", disabled=not enabled)


class Footers(Vertical):
    """Both footer lines, docked at the bottom of every signed-in screen."""

    def compose(self) -> ComposeResult:
        yield LocalFooter("screen")
        yield LocalFooter("app")
