"""Sign in once; the token is kept (0600) so the next `pantau console` skips this screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label

from tui.client import ApiError
from tui.i18n import t

if TYPE_CHECKING:
    from tui.app import PantauApp


class LoginScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # enter acts when the key arrives (a priority binding), not when the field
        # gets round to its Submitted message: a password typed right after it (a
        # fast typist, keys arriving in one burst over SSH) lands in the password box.
        Binding("enter", "enter", "sign in", show=False, id="login.enter", priority=True),
    ]

    def __init__(self, message: str = "") -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        app = cast("PantauApp", self.app)
        with Vertical(classes="dialog login"):
            yield Label(t("login.title", server=app.server_label), classes="dialog-title")
            yield Input(placeholder=t("login.username"), id="username")
            yield Input(placeholder=t("login.password"), password=True, id="password")
            yield Button(t("login.button"), id="login", variant="primary")
            yield Label(self.message, id="login-error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    def action_enter(self) -> None:
        """enter: from the username to the password; from anywhere else, sign in."""
        if self.focused is self.query_one("#username", Input):
            # Screen.set_focus moves focus now; Widget.focus() would only schedule it.
            self.set_focus(self.query_one("#password", Input))
        else:
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.submit()

    @work(exclusive=True, group="login", exit_on_error=False)
    async def submit(self) -> None:
        app = cast("PantauApp", self.app)
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        try:
            body = await app.client.login(username, password)
        except ApiError as exc:
            self.query_one("#login-error", Label).update(t("login.failed", message=exc.message))
            self.query_one("#password", Input).value = ""
            return
        app.signed_in(body)
