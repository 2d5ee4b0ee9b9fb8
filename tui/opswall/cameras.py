"""A grid of camera thumbnails drawn as half-block characters, sized to the terminal.

Only the tiles on screen are fetched; with more cameras than tiles the grid
pages through them on the wall's rotation timer.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import Grid
from textual.markup import escape
from textual.widgets import Static

from tui.i18n import t
from tui.widgets.thumbnail import half_blocks

TILE_W, TILE_H = 24, 8  # image cells; a tile adds a name line and a health line
CELL_W, CELL_H = TILE_W + 2, TILE_H + 2


class CameraTile(Static):
    def __init__(self) -> None:
        super().__init__("")
        self.camera: dict[str, Any] | None = None
        self.image: Text | None = None

    def show(self, camera: dict[str, Any] | None, image: bytes | None = None) -> None:
        if camera is None or (self.camera or {}).get("id") != camera.get("id"):
            self.image = None
        self.camera = camera
        if image is not None:
            try:
                self.image = half_blocks(image, TILE_W, TILE_H)
            except Exception:  # a broken JPEG must not take the wall down
                self.image = None
        self.redraw()

    def redraw(self) -> None:
        cam = self.camera
        if cam is None:
            self.update("")
            return
        health = cam.get("health") or {}
        state = health.get("state", "idle")
        offline = state == "offline" or bool(health.get("error"))
        self.set_class(offline, "offline")
        name = escape(str(cam.get("name", "?")))[:TILE_W]
        if offline:
            status = f"[$error]{t('wallterm.camera_offline')}[/]" + (
                f" {escape(str(health.get('error')))[:12]}" if health.get("error") else "")
        elif health.get("online"):
            status = f"[$success]{t('wallterm.camera_online')}[/] {health.get('fps', 0):.0f} fps"
        else:
            status = f"[$text-muted]○ {t('camera_state.' + str(state))}[/]"
        body: Text | str
        if self.image is not None and not offline:
            body = self.image
        else:
            word = t("wallterm.no_signal") if offline else "…"
            blank = ("\n" * (TILE_H // 2)) + word.center(TILE_W)
            body = blank + "\n" * (TILE_H - TILE_H // 2 - 1)
        from textual.content import Content

        head = Content.from_markup(f"[b]{name}[/b]")
        foot = Content.from_markup(status)
        self.update(Content.assemble(head, "\n", body if isinstance(body, str)
                                     else Content.from_rich_text(body), "\n", foot))


class CameraGrid(Grid):
    """As many tiles as fit; `capacity` tells the app how many snapshots to fetch."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.border_title = t("wallterm.panel.cameras")
        self.offset_index = 0

    @property
    def capacity(self) -> int:
        cols = max(1, self.size.width // CELL_W)
        rows = max(1, self.size.height // CELL_H)
        return cols * rows

    def layout_tiles(self) -> None:
        cols = max(1, self.size.width // CELL_W)
        self.styles.grid_size_columns = cols
        want = self.capacity
        tiles = list(self.query(CameraTile))
        if len(tiles) < want:
            self.mount_all([CameraTile() for _ in range(want - len(tiles))])
        for extra in tiles[want:]:
            extra.remove()

    def shown(self, cameras: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not cameras:
            return []
        n = min(self.capacity, len(cameras))
        start = self.offset_index % len(cameras)
        return [cameras[(start + i) % len(cameras)] for i in range(n)]

    def advance(self, cameras: list[dict[str, Any]]) -> None:
        if len(cameras) > self.capacity:
            self.offset_index = (self.offset_index + self.capacity) % len(cameras)

    def draw(self, cameras: list[dict[str, Any]], images: dict[int, bytes]) -> None:
        shown = self.shown(cameras)
        for i, tile in enumerate(self.query(CameraTile)):
            cam = shown[i] if i < len(shown) else None
            tile.show(cam, images.get(int(cam["id"])) if cam else None)
