"""A camera's health, as the API and the wall show it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

STATES = ("idle", "connecting", "online", "offline")


@dataclass
class Health:
    """`idle`: nobody watches, so the source is not running (not a fault)."""

    state: str = "idle"
    online: bool = False
    fps: float = 0.0
    bitrate: int = 0  # bits per second over the last two seconds
    last_frame_at: float | None = None  # unix time
    error: str | None = None
    profile: str | None = None
    viewers: int = 0

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"unknown camera state {self.state!r}")

    def copy(self) -> Health:
        return dataclasses.replace(self)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
