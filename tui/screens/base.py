"""What every signed-in screen shares: the status line, the alarm banner, the footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui.widgets.chrome import AlarmBanner, StatusBar
from tui.widgets.footer import Footers

if TYPE_CHECKING:
    from tui.app import PantauApp


class PantauScreen(Screen[None]):
    """A screen under the chrome. `esc` backs out to the screen underneath."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Not in the footer (the same on every screen, and F2-F5 reach any screen);
        # listed in help.
        Binding("escape", "back", "back", show=False, id="screen.back"),
    ]

    @property
    def papp(self) -> PantauApp:
        return cast("PantauApp", self.app)

    def chrome(self) -> ComposeResult:
        yield StatusBar(classes="status-bar")
        yield AlarmBanner(classes="alarm-banner")

    def footer(self) -> ComposeResult:
        yield Footers()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
