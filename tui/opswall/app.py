"""`pantau wall-term`: the whole room at a glance, live, read-only, from a terminal."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer

from tui import i18n
from tui.client import ApiClient, ApiError, EventStream, StreamState, StreamStatus
from tui.i18n import t
from tui.opswall.cameras import CameraGrid
from tui.opswall.layout import PANELS, pages_for, size_class, tall
from tui.opswall.panels import (
    AlarmBanner,
    AlarmsPanel,
    CountersPanel,
    Panel,
    ShiftPanel,
    SlaPanel,
    StatusBar,
    TickerPanel,
    utcnow,
)
from tui.opswall.state import TICKER_KINDS, WallState
from tui.settings import ConsoleSettings
from tui.tickets import use_time_zone

BOARD_DEBOUNCE = 0.3
CAMERA_REFRESH = 5.0
HISTORY = 50  # events shown from before the wall started


class OpsWallApp(App[None]):
    """Read-only: it has no binding that changes anything on the server."""

    CSS_PATH = Path(__file__).with_name("opswall.tcss")
    TITLE = "Pantau operations wall"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit", id="wall.quit"),
        Binding("n", "next_page", "next page", id="wall.next_page"),
        Binding("space", "toggle_rotation", "pause rotation", id="wall.pause"),
    ]

    def __init__(self, client: ApiClient, *, rotate_seconds: float = 10.0,
                 clock: Any = None, language: str | None = None,
                 settings: ConsoleSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or ConsoleSettings()
        use_time_zone(self.settings.tz)
        # Set before the panels are composed: the wall is in one language from its
        # first frame (the CLI passes the person's or the monitor's from /api/me).
        i18n.set_language(language)
        self.title = t("wallterm.title")
        self.client = client
        self.state = WallState()
        self.rotate_seconds = rotate_seconds
        self.clock = clock or utcnow
        self.page = 0
        self.rotating = True
        self.images: dict[int, bytes] = {}
        self.stream: EventStream | None = None
        self._board_due: Timer | None = None
        self.board_loads = 0
        self.history_loaded = False

    # -- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AlarmBanner(id="banner")
        with Horizontal(id="top"):
            yield CountersPanel(t("wallterm.panel.queue"), id="counters", classes="panel")
            yield ShiftPanel(t("wallterm.panel.shift"), id="shift", classes="panel")
        with Horizontal(id="middle"):
            with Vertical(id="leftcol"):
                yield AlarmsPanel(t("wallterm.panel.alarms"), id="alarms", classes="panel")
                yield SlaPanel(t("wallterm.panel.sla"), id="sla", classes="panel")
            yield TickerPanel(t("wallterm.panel.ticker"), id="ticker", classes="panel")
        yield CameraGrid(id="cameras")
        yield StatusBar(id="status")

    @property
    def pages(self) -> list[frozenset[str]]:
        return pages_for(self.size.width, self.size.height)

    def apply_page(self) -> None:
        pages = self.pages
        self.page %= len(pages)
        shown = pages[self.page]
        for name in PANELS:
            self.query_one(f"#{name}").display = name in shown
        self.query_one("#top").display = bool(shown & {"counters", "shift"})
        self.query_one("#middle").display = bool(shown & {"alarms", "sla", "ticker"})
        self.query_one("#leftcol").display = bool(shown & {"alarms", "sla"})
        for cls in ("small", "medium", "large"):
            self.screen.set_class(cls == size_class(self.size.width, self.size.height), cls)
        self.screen.set_class(tall(self.size.height), "tall")
        self.call_after_refresh(self._after_layout)

    def _after_layout(self) -> None:
        grid = self.query_one(CameraGrid)
        if grid.display:
            grid.layout_tiles()
            self.call_after_refresh(self.redraw)
        else:
            self.redraw()

    # -- drawing ------------------------------------------------------------------

    def redraw(self) -> None:
        now = self.clock()
        self.query_one(AlarmBanner).draw(self.state, now)
        for panel in self.query(Panel):
            if panel.display:
                panel.draw(self.state, now)
        grid = self.query_one(CameraGrid)
        if grid.display:
            grid.draw(self.state.cameras, self.images)
        self.query_one(StatusBar).draw(self.state, now, self.page, len(self.pages))

    # -- lifecycle ----------------------------------------------------------------

    def on_mount(self) -> None:
        self.apply_page()
        self.set_interval(1.0, self.redraw, name="clock")
        self.set_interval(self.rotate_seconds, self.rotate, name="rotate")
        self.set_interval(CAMERA_REFRESH, self.refresh_cameras, name="cameras")
        self.load_board()
        self.refresh_cameras()
        self.follow_events()

    def on_resize(self) -> None:
        self.apply_page()

    def rotate(self) -> None:
        if not self.rotating:
            return
        if len(self.pages) > 1:
            self.page = (self.page + 1) % len(self.pages)
            self.apply_page()
        grid = self.query_one(CameraGrid)
        grid.advance(self.state.cameras)
        self.refresh_cameras()

    def action_next_page(self) -> None:
        self.page += 1
        self.apply_page()

    def action_toggle_rotation(self) -> None:
        self.rotating = not self.rotating
        self.notify(t("wallterm.rotation_on" if self.rotating else "wallterm.rotation_paused"))

    # -- data -----------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="stream")
    async def follow_events(self) -> None:
        """The latest events first (so the ticker shows what happened before the
        wall started), then the stream from exactly where they end."""
        since = await self.load_history()
        self.stream = EventStream(self.client, self.handle_frame, self.on_stream_status,
                                  since=since, on_resync=self.on_resync)
        await self.stream.run()

    async def load_history(self) -> int | None:
        """Fill the ticker from GET /api/events/recent; the id to follow from."""
        try:
            body = await self.client.get("/api/events/recent", limit=HISTORY,
                                         kinds=",".join(TICKER_KINDS))
        except ApiError:
            return None  # unreachable: the stream retries, and history follows once live
        self.state.add_history(list(body.get("items") or []))
        self.history_loaded = True
        self.redraw()
        return int(body["last_id"])

    @work(exclusive=True, exit_on_error=False, group="history")
    async def load_history_late(self) -> None:
        await self.load_history()

    def on_resync(self, frame: dict[str, Any]) -> None:
        """Away too long for a replay: the frame carries the board as it is now (an
        alarm raised and resolved meanwhile is simply not there)."""
        board = (frame.get("snapshot") or {}).get("board")
        if isinstance(board, dict):
            self.state.set_board(board, self.clock())
            self.redraw()
        else:
            self.schedule_board()
        self.refresh_cameras()

    def handle_frame(self, frame: dict[str, Any]) -> None:
        needs_board = self.state.apply(frame)
        if frame.get("kind") == "alarm.raised":
            self.bell()
        if str(frame.get("kind", "")).startswith("alarm."):
            self.redraw()  # alarms appear at once, not after the board refresh
        if needs_board:
            self.schedule_board()

    def on_stream_status(self, status: StreamStatus) -> None:
        was_live = self.state.live
        self.state.set_live(status.state == StreamState.LIVE, self.clock())
        if self.state.live and not was_live:
            self.schedule_board()  # caught up after a reconnect: refresh the counters
            if not self.history_loaded:
                self.load_history_late()
        if status.state == StreamState.SIGNED_OUT:
            self.notify(t("wallterm.signed_out"), severity="error", timeout=30)
        self.redraw()

    def schedule_board(self) -> None:
        """Coalesce a burst of events into one board fetch."""
        if self._board_due is None:
            self._board_due = self.set_timer(BOARD_DEBOUNCE, self._board_timer)

    def _board_timer(self) -> None:
        self._board_due = None
        self.load_board()

    @work(exclusive=True, exit_on_error=False, group="board")
    async def load_board(self) -> None:
        try:
            board = await self.client.get("/api/board")
        except ApiError as exc:
            self.state.set_live(False, self.clock())
            self.notify(t("wallterm.board_error", message=exc.message), severity="error",
                        timeout=4)
            self.redraw()
            return
        self.state.set_board(board, self.clock())
        if self.stream is not None and self.stream.last_id is not None:
            self.state.set_live(True)
        self.board_loads += 1
        self.redraw()

    @work(exclusive=True, exit_on_error=False, group="cameras")
    async def refresh_cameras(self) -> None:
        grid = self.query_one(CameraGrid)
        try:
            self.state.cameras = list(await self.client.get("/api/cameras"))
        except ApiError:
            return
        if not grid.display:
            return
        sem = asyncio.Semaphore(4)

        async def fetch(cam: dict[str, Any]) -> None:
            async with sem:
                try:
                    data = await self.client.get(f"/api/cameras/{cam['id']}/snapshot.jpg")
                except ApiError:
                    return
                if isinstance(data, bytes | bytearray):
                    self.images[int(cam["id"])] = bytes(data)

        await asyncio.gather(*(fetch(c) for c in grid.shown(self.state.cameras)))
        self.redraw()

    async def on_unmount(self) -> None:
        await self.client.close()


def now_for_tests(iso: str) -> Any:
    """A frozen clock, so snapshot tests are steady."""
    fixed = datetime.fromisoformat(iso)
    return lambda: fixed
