"""The two lines on top of every screen: connection state and the panic-alarm banner."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.widgets import Static

from tui.client import StreamState, StreamStatus
from tui.i18n import t

if TYPE_CHECKING:
    from tui.app import PantauApp


class StatusBar(Static):
    """Who is signed in, where, and whether the event stream is live."""

    def on_mount(self) -> None:
        app = cast("PantauApp", self.app)
        self.watch(app, "stream_status", self._show, init=True)
        self.watch(app, "staffing_warning", lambda _: self._show(app.stream_status))

    def _show(self, status: StreamStatus) -> None:
        app = cast("PantauApp", self.app)
        who = app.person.get("username", "") if app.person else ""
        state = status.state
        if state == StreamState.LIVE:
            text = t("conn.live")
        elif state == StreamState.RETRYING:
            text = t("conn.retrying", secs=max(status.retry_in, 1))
        elif state == StreamState.SIGNED_OUT:
            text = t("conn.signed_out")
        else:
            text = t("conn.connecting")
        self.set_class(state == StreamState.LIVE, "-live")
        self.set_class(state in (StreamState.RETRYING, StreamState.SIGNED_OUT), "-down")
        line = f"{t('app.title')} · {who}@{app.server_label} · ● {text}"
        self.set_class(bool(app.staffing_warning), "-staffing")
        if app.staffing_warning:
            line += f" · ⚠ {app.staffing_warning}"
        self.update(line)


class AlarmBanner(Static):
    """Shown while any panic alarm is unacknowledged; hidden otherwise."""

    def on_mount(self) -> None:
        app = cast("PantauApp", self.app)
        self.watch(app, "unacked_alarms", self._show, init=True)

    def _show(self, summary: tuple[int, str]) -> None:
        count, where = summary
        self.display = count > 0
        if count:
            self.update(t("alarm.banner", n=count, where=where))
