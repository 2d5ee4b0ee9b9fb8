"""Supervisor commands from the palette: approve a wall display's pairing code, and
read the last weekly/monthly/yearly report's summary without leaving the console.

Both go through the server's API (the same rules as `pantau wall pair` and
`pantau report`); a person without the role gets the server's 403 as a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui import i18n
from tui.client import ApiError
from tui.screens.modals import Choice, ConfirmModal, PickerModal

if TYPE_CHECKING:
    from tui.app import PantauApp

REPORT_KINDS = ("weekly", "monthly", "yearly")


class ReportModal(ModalScreen[None]):
    """A report's text summary, scrollable; esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close", id="report.close"),
    ]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.body, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


def show_report(app: PantauApp, kind: str) -> None:
    """The last complete period's report, as the text summary the mayor also gets."""

    async def load() -> None:
        lang = i18n.language()
        try:
            body = await app.client.request("GET", f"/api/reports/{kind}",
                                            params={"format": "text", "lang": lang})
        except ApiError as exc:
            app.notify(exc.message, severity="error")
            return
        app.push_screen(ReportModal(f"report: {kind}", str(body)))

    app.run_worker(load(), group="report", exclusive=True, exit_on_error=False)


def approve_wall(app: PantauApp) -> None:
    """Pick a waiting pairing code, then the monitor it should show; confirmed."""

    async def start() -> None:
        try:
            walls = await app.client.get("/api/wall/pairings")
            monitors = await app.client.get("/api/monitors")
        except ApiError as exc:
            app.notify(exc.message, severity="error")
            return
        waiting = [w for w in walls if w.get("state") == "waiting"]
        if not waiting:
            app.notify("no wall display is waiting for approval", severity="warning")
            return
        items: list[dict[str, Any]] = list(
            monitors.get("items", monitors) if isinstance(monitors, dict) else monitors)
        codes = [Choice(str(w["code"]), f"{w['code']}  (asked {str(w['created_at'])[11:16]}"
                        f"{', for ' + str(w['monitor']) if w.get('monitor') else ''})")
                 for w in waiting]

        def code_chosen(code: str | None) -> None:
            if not code:
                return
            wanted = next((w.get("monitor") for w in waiting if w["code"] == code), None)
            choices = [Choice(str(m["code"]), f"{m['code']} · {m.get('name', '')}")
                       for m in items]

            def monitor_chosen(monitor: str | None) -> None:
                if not monitor:
                    return

                def confirmed(yes: bool | None) -> None:
                    if yes:
                        app.run_worker(_approve(app, code, monitor), group="pairing",
                                       exit_on_error=False)

                app.push_screen(ConfirmModal(f"Pair wall {code} to monitor {monitor}?"),
                                confirmed)

            app.push_screen(PickerModal(f"wall {code} →", choices, selected=wanted),
                            monitor_chosen)

        app.push_screen(PickerModal("wall: approve pairing", codes,
                                    selected=codes[0].value if codes else None), code_chosen)

    app.run_worker(start(), group="pairing", exclusive=True, exit_on_error=False)


async def _approve(app: PantauApp, code: str, monitor: str) -> None:
    try:
        await app.client.post(f"/api/wall/pairings/{code}/approve", {"monitor": monitor})
    except ApiError as exc:
        app.notify(exc.message, severity="error")
        return
    app.notify(f"wall {code} paired to {monitor}")
