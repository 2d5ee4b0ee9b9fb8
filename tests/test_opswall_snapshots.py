"""Snapshot tests of the terminal operations wall at 80x24 and 200x60.

A live server cannot give a steady picture (ages, clocks, camera frames change
every run), so these feed a fixed board, fixed events, fixed thumbnails and a
fixed clock through the app's data edges (`load_board`, `refresh_cameras`,
`follow_events`). The live behaviour is proven in test_opswall_live.py.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw

from db.seed import city
from tui.client import ApiClient
from tui.opswall.app import OpsWallApp

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _iso(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


BOARD: dict[str, Any] = {
    "at": NOW.isoformat(),
    "queue": {"open": 170, "by_priority": {"1": 12, "2": 25, "3": 98, "4": 35},
              "by_status": {"new": 35, "triaged": 37, "routed": 43, "acknowledged": 26,
                            "in_progress": 29},
              "oldest_unrouted": {"reference": "BDG-2611-00042", "priority": 3,
                                  "created_at": _iso(200), "age_seconds": 12000}},
    "sla": [
        {"code": "dsdabm", "name": "DSDABM", "name_en": "Roads and Drainage", "open": 21,
         "overdue": 6, "due_within_hour": 2},
        {"code": "dishub", "name": "Dishub", "name_en": "Transport", "open": 14, "overdue": 2,
         "due_within_hour": 0},
        {"code": "diskar", "name": "Diskar", "name_en": "Fire and Rescue", "open": 3,
         "overdue": 0, "due_within_hour": 1},
        {"code": "pdam", "name": "PDAM", "name_en": "Water Utility", "open": 5, "overdue": 0,
         "due_within_hour": 0},
    ],
    "alarms": [
        {"id": 7, "status": "raised", "owner_name": "Siti Nurhaliza", "device": "demo-dago",
         "address": "Jl. Ir. H. Juanda No. 88", "raised_at": _iso(0.7)},
        {"id": 6, "status": "dispatched", "owner_name": "Toko Sepatu Braga",
         "device": "demo-braga", "address": "Jl. Braga No. 12", "raised_at": _iso(14)},
    ],
    "shift": {"id": 1, "template": "pagi", "name": "Pagi", "day": "2026-11-28",
              "status": "open", "understaffed": True, "handover_pending": True,
              "shortfall": {"police": 1},
              "staffing": [{"role": "call_center", "minimum": 15, "rostered": 15, "present": 15},
                           {"role": "expert", "minimum": 9, "rostered": 9, "present": 9},
                           {"role": "police", "minimum": 4, "rostered": 4, "present": 3},
                           {"role": "supervisor", "minimum": 1, "rostered": 1, "present": 1}]},
}

CAMERAS = [
    {"id": i, "name": name, "health": {"state": state, "online": state == "online",
                                       "fps": 15.0 if state == "online" else 0.0,
                                       "error": "no frames" if state == "offline" else None}}
    for i, (name, state) in enumerate([
        ("Simpang Dago", "online"), ("Alun-Alun Bandung", "online"),
        ("Jl. Asia Afrika", "offline"), ("Gedung Sate", "online"), ("Jl. Braga", "online"),
        ("Pasar Baru", "online"), ("Terminal Cicaheum", "idle"), ("Stadion GBLA", "online"),
        ("Jl. Merdeka", "online"), ("Cihampelas", "online")], start=1)
]

EVENTS = [
    ("alarm.raised", {"alarm": BOARD["alarms"][0]}, 0.7),
    ("ticket.created", {"reference": "BDG-2611-00170", "category": "banjir",
                        "channel": "web"}, 2),
    ("ticket.routed", {"reference": "BDG-2611-00168",
                       "ticket": {"department": {"code": "dsdabm", "name": "DSDABM"}}}, 3),
    ("ticket.sla_breached", {"reference": "BDG-2611-00101"}, 5),
    ("ticket.status_changed", {"reference": "BDG-2611-00099", "status": "resolved"}, 9),
]


def _picture(seed: int) -> bytes:
    img = Image.new("RGB", (96, 64), (20 + seed * 20 % 200, 60, 90))
    draw = ImageDraw.Draw(img)
    draw.rectangle((10 + seed * 5, 20, 50 + seed * 3, 50), fill=(230, 200, 40))
    draw.ellipse((60, 5, 90, 35), fill=(200, 60, 60))
    out = io.BytesIO()
    img.save(out, format="PNG")  # PNG: byte-for-byte steady, unlike JPEG encoders
    return out.getvalue()


# The demo city's twelve departments, the most urgent first, as /api/board sorts them.
EVERY_DEPARTMENT = [
    {"code": code, "name": name, "name_en": name_en, "open": 20 - k,
     "overdue": max(0, 3 - k), "due_within_hour": 1 if k % 4 == 0 else 0}
    for k, (code, name, name_en, *_policy) in enumerate(city.DEPARTMENTS)]


class FixedWall(OpsWallApp):
    def __init__(self, language: str = "en", board: dict[str, Any] | None = None) -> None:
        super().__init__(ApiClient("http://127.0.0.1:9"), rotate_seconds=3600,
                         clock=lambda: NOW, language=language)
        self.fixed_board = board or BOARD

    def follow_events(self) -> None:  # type: ignore[override]
        self.state.set_live(True, NOW)
        for kind, payload, ago in reversed(EVENTS):
            self.state.apply({"kind": kind, "payload": payload, "at": _iso(ago),
                              "subject": {"type": kind.split(".")[0], "id": "1"}})

    def load_board(self) -> None:  # type: ignore[override]
        self.state.set_board(self.fixed_board, NOW)
        self.redraw()

    def refresh_cameras(self) -> None:  # type: ignore[override]
        self.state.cameras = [dict(c) for c in CAMERAS]
        self.images = {int(c["id"]): _picture(int(c["id"])) for c in CAMERAS}
        self.redraw()


async def settle(pilot: Any) -> None:
    await pilot.pause()
    pilot.app.apply_page()
    await pilot.pause()
    await pilot.pause()


def test_wall_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(FixedWall(), terminal_size=(80, 24), run_before=settle)


def test_wall_at_200x60(snap_compare: Any) -> None:
    assert snap_compare(FixedWall(), terminal_size=(200, 60), run_before=settle)


def test_wall_in_indonesian_at_200x60(snap_compare: Any) -> None:
    """The language of the signed-in person (or the wall's monitor), from the first frame."""
    assert snap_compare(FixedWall(language="id"), terminal_size=(200, 60), run_before=settle)


def test_wall_at_200x50_shows_every_department(snap_compare: Any) -> None:
    assert snap_compare(FixedWall(board={**BOARD, "sla": EVERY_DEPARTMENT}),
                        terminal_size=(200, 50), run_before=settle)


def test_wall_at_80x24_second_page(snap_compare: Any) -> None:
    async def next_page(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(FixedWall(), terminal_size=(80, 24), run_before=next_page)
