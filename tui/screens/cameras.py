"""Cameras: a grid of half-block thumbnails with health; `w` sends one to a wall monitor."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.widgets import Label, Static

from lang import keys
from tui.client import ApiError
from tui.i18n import t
from tui.roles import SUPERVISORS
from tui.screens.base import PantauScreen
from tui.screens.modals import Choice, ConfirmModal, PickerModal
from tui.widgets.thumbnail import half_blocks

THUMB_W, THUMB_H = 24, 6
LAYOUTS = ("1x1", "2x2", "3x3", "4x4")
REFRESH_SECONDS = 10.0


class CameraTile(Static, can_focus=True):
    """One camera: its thumbnail and a health line; focus marks the selection."""

    def __init__(self, camera: dict[str, Any]) -> None:
        super().__init__(classes="camera-tile")
        self.camera = camera
        self.picture: Any = None

    def render_tile(self) -> None:
        cam = self.camera
        health = cam.get("health") or {}
        state = str(health.get("state") or "unknown")
        # "idle" is not a fault: nobody is watching, so the relay has not opened it.
        self.set_class(state in ("offline", "error", "failed"), "-offline")
        fps = health.get("fps")
        if health.get("online") and fps:
            state = f"{fps:.0f} fps"
        elif f"camera_state.{state}" in keys():
            state = t(f"camera_state.{state}")
        title = escape(f"{cam.get('name', cam.get('id'))} · {state}"[:THUMB_W])
        if self.picture is None:
            self.update(title + "\n" * (THUMB_H // 2) + "   " + t("cameras.no_picture"))
            return
        from rich.console import Group
        from rich.text import Text

        self.update(Group(Text.from_markup(title), self.picture))


class CamerasScreen(PantauScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "to_wall", "to wall", id="cameras.wall"),
        Binding("L", "layout", "wall layout (supervisor)", id="cameras.layout"),
        Binding("R", "reload", "reload", show=False, id="cameras.reload"),
        Binding("l,right", "move(1)", "next", show=False, id="cameras.next"),
        Binding("h,left", "move(-1)", "previous", show=False, id="cameras.prev"),
        Binding("j,down", "move(3)", "down", show=False, id="cameras.down"),
        Binding("k,up", "move(-3)", "up", show=False, id="cameras.up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = t("cameras.title")

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Label(t("cameras.title"), classes="screen-title")
        yield Static("", id="cameras-note")
        with VerticalScroll():
            yield Grid(id="camera-grid")
        yield from self.footer()

    def on_mount(self) -> None:
        self.load()
        self.set_interval(REFRESH_SECONDS, self.refresh_snapshots)

    @work(exclusive=True, group="cameras", exit_on_error=False)
    async def load(self) -> None:
        note = self.query_one("#cameras-note", Static)
        try:
            body = await self.papp.client.get("/api/cameras")
        except ApiError as exc:
            note.update(t("unavailable", what=t("cameras.title")) if exc.not_available
                        else exc.message)
            return
        cameras = body.get("items", body) if isinstance(body, dict) else body
        grid = self.query_one("#camera-grid", Grid)
        await grid.remove_children()
        tiles = [CameraTile(cam) for cam in cameras]
        await grid.mount_all(tiles)
        for tile in tiles:
            tile.render_tile()
        if tiles:
            tiles[0].focus()
        note.update("")
        self.refresh_snapshots()

    @work(exclusive=True, group="snapshots", exit_on_error=False)
    async def refresh_snapshots(self) -> None:
        for tile in list(self.query(CameraTile)):
            try:
                jpeg = await self.papp.client.get(f"/api/cameras/{tile.camera['id']}/snapshot.jpg")
            except ApiError:
                continue
            if isinstance(jpeg, bytes | bytearray):
                tile.picture = half_blocks(bytes(jpeg), THUMB_W, THUMB_H - 1)
                tile.render_tile()

    def action_move(self, step: int) -> None:
        tiles = list(self.query(CameraTile))
        if not tiles:
            return
        current = next((i for i, tl in enumerate(tiles) if tl.has_focus), 0)
        tiles[max(0, min(len(tiles) - 1, current + step))].focus()

    def action_reload(self) -> None:
        self.load()

    def action_to_wall(self) -> None:
        tile = next((tl for tl in self.query(CameraTile) if tl.has_focus), None)
        if tile is not None:
            self.pick_monitor(tile.camera)

    async def _monitors(self) -> list[dict[str, Any]] | None:
        try:
            body = await self.papp.client.get("/api/monitors")
        except ApiError as exc:
            self.notify(t("unavailable", what="monitors") if exc.not_available else exc.message,
                        severity="error")
            return None
        return list(body.get("items", body) if isinstance(body, dict) else body)

    @work(exclusive=True, group="monitors", exit_on_error=False)
    async def pick_monitor(self, camera: dict[str, Any]) -> None:
        monitors = await self._monitors()
        if monitors is None:
            return
        by_code = {str(m["code"]): m for m in monitors}
        choices = [Choice(code, f"{code} · {m.get('name', '')} ({m.get('layout', '')})")
                   for code, m in by_code.items()]

        def chosen(code: str | None) -> None:
            if code:
                self.send_to_wall(by_code[code], camera)

        self.app.push_screen(PickerModal(f"{camera.get('name')} →", choices,
                                         selected=_first(choices)), chosen)

    @work(group="monitor-ops", exit_on_error=False)
    async def send_to_wall(self, monitor: dict[str, Any], camera: dict[str, Any]) -> None:
        """Into the first empty position of the monitor, else over position 0."""
        size = int(monitor.get("rows", 1)) * int(monitor.get("cols", 1))
        used = {int(s["position"]) for s in monitor.get("slots", [])}
        position = next((p for p in range(size) if p not in used), 0)
        try:
            await self.papp.client.put(f"/api/monitors/{monitor['code']}/slots/{position}",
                                       {"camera_id": camera["id"]})
        except ApiError as exc:
            self.notify(exc.detail, severity="error")
            return
        self.notify(f"{camera.get('name')} → {monitor['code']} #{position}")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "layout" and not self.papp.has_role(*SUPERVISORS):
            return None
        return True

    def action_layout(self) -> None:
        self.pick_layout()

    @work(exclusive=True, group="monitors", exit_on_error=False)
    async def pick_layout(self) -> None:
        """Supervisor: change a wall monitor's grid (confirmed: the whole room sees it)."""
        monitors = await self._monitors()
        if not monitors:
            return
        choices = [Choice(f"{m['code']}={layout}", f"{m['code']} → {layout}")
                   for m in monitors for layout in LAYOUTS if layout != m.get("layout")]

        def chosen(value: str | None) -> None:
            if not value:
                return
            code, layout = value.split("=", 1)

            def answered(yes: bool | None) -> None:
                if yes:
                    self.set_layout(code, layout)

            self.app.push_screen(ConfirmModal(t("confirm.layout", monitor=code, layout=layout)),
                                 answered)

        self.app.push_screen(PickerModal("wall: layout", choices, selected=_first(choices)),
                             chosen)

    @work(group="monitor-ops", exit_on_error=False)
    async def set_layout(self, code: str, layout: str) -> None:
        try:
            await self.papp.client.patch(f"/api/monitors/{code}", {"layout": layout})
        except ApiError as exc:
            self.notify(exc.detail, severity="error")
            return
        self.notify(f"{code}: {layout}")


def _first(choices: list[Choice]) -> str | None:
    """Preselected here: both pickers list the room's monitors in a fixed order."""
    return choices[0].value if choices else None
