"""What the terminal wall knows, kept apart from drawing so it can be tested alone.

The board (counters, SLA, shift) comes from GET /api/board and is refreshed after
events that change it; alarms are also applied straight from alarm events, so a
new alarm is on screen within the event's round trip, not the next refresh.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tui.i18n import event_sentence, t

OPEN_ALARM = ("raised", "acknowledged", "dispatched")
# Event kinds after which the board's counters may be out of date.
BOARD_KINDS = ("ticket.", "alarm.", "shift.", "camera.")
TICKER_SIZE = 200
# Event kinds the ticker has words for (ticker_text): what to ask the recent history for.
TICKER_KINDS = ("ticket.", "alarm.", "camera.", "shift.")


@dataclass
class TickerLine:
    at: datetime
    kind: str
    text: str
    event_id: int = 0


@dataclass
class WallState:
    board: dict[str, Any] | None = None
    alarms: dict[int, dict[str, Any]] = field(default_factory=dict)
    cameras: list[dict[str, Any]] = field(default_factory=list)
    ticker: deque[TickerLine] = field(default_factory=lambda: deque(maxlen=TICKER_SIZE))
    live: bool = False
    stale_since: datetime | None = None
    board_at: datetime | None = None

    # -- inputs -------------------------------------------------------------------

    def set_board(self, board: dict[str, Any], now: datetime | None = None) -> None:
        self.board = board
        self.board_at = now or datetime.now(UTC)
        self.alarms = {int(a["id"]): a for a in board.get("alarms", [])}

    def set_live(self, live: bool, now: datetime | None = None) -> None:
        """Live means the event stream is connected; otherwise the data is stale."""
        if live:
            self.stale_since = None
        elif self.live or self.stale_since is None:
            self.stale_since = now or datetime.now(UTC)
        self.live = live

    def apply(self, frame: dict[str, Any]) -> bool:
        """Apply one event frame; returns True when the board should be refetched."""
        kind = str(frame.get("kind", ""))
        payload = frame.get("payload") or {}
        alarm = payload.get("alarm") if isinstance(payload, dict) else None
        if kind.startswith("alarm.") and isinstance(alarm, dict) and "id" in alarm:
            if alarm.get("status") in OPEN_ALARM:
                self.alarms[int(alarm["id"])] = alarm
            else:
                self.alarms.pop(int(alarm["id"]), None)
        if kind in ("camera.online", "camera.offline"):
            self._camera_health(str((frame.get("subject") or {}).get("id", "")), kind, payload)
        self._tick(frame)
        return kind.startswith(BOARD_KINDS)

    def add_history(self, frames: list[dict[str, Any]]) -> None:
        """Events from before the wall started (oldest first): ticker lines only,
        since the board already holds their effect. An event the stream also
        delivered is shown once."""
        for frame in frames:
            self._tick(frame)
        if frames:
            unique = {line.event_id or id(line): line for line in self.ticker}
            ordered = sorted(unique.values(), key=lambda t: (t.at, t.event_id), reverse=True)
            self.ticker = deque(ordered, maxlen=TICKER_SIZE)

    def _tick(self, frame: dict[str, Any]) -> None:
        kind = str(frame.get("kind", ""))
        payload = frame.get("payload") or {}
        line = ticker_text(kind, payload, self._camera_name(frame), str(frame.get("actor") or ""))
        if line is not None:
            self.ticker.appendleft(TickerLine(_at(frame), kind, line,
                                              int(frame.get("id") or 0)))

    def _camera_name(self, frame: dict[str, Any]) -> str:
        subject = frame.get("subject") or {}
        if subject.get("type") != "camera":
            return ""
        for cam in self.cameras:
            if str(cam.get("id")) == str(subject.get("id")):
                return str(cam.get("name", ""))
        return f"#{subject.get('id')}"

    def _camera_health(self, camera_id: str, kind: str, payload: Any) -> None:
        for cam in self.cameras:
            if str(cam.get("id")) == camera_id:
                health = dict(cam.get("health") or {})
                health["online"] = kind == "camera.online"
                health["state"] = payload.get("state", health.get("state")) \
                    if isinstance(payload, dict) else health.get("state")
                cam["health"] = health

    # -- what to show -------------------------------------------------------------

    def unacknowledged(self) -> list[dict[str, Any]]:
        """Alarms nobody has acknowledged yet, oldest first (the most urgent)."""
        raised = [a for a in self.alarms.values() if a.get("status") == "raised"]
        return sorted(raised, key=lambda a: str(a.get("raised_at", "")))

    def open_alarms(self) -> list[dict[str, Any]]:
        return sorted(self.alarms.values(), key=lambda a: str(a.get("raised_at", "")))


def _at(frame: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(frame.get("at")))
    except ValueError:
        return datetime.now(UTC)


# What the room's ticker leaves out: notes and a ticket leaving a department are
# the desk's business, not the room's.
TICKER_SKIP = ("ticket.note_added", "ticket.routed_away")


def ticker_text(kind: str, payload: Any, camera: str = "", actor: str = "") -> str | None:
    """One line for the ticker (the event as a sentence, its ticket or alarm first), or
    None for events the room does not need to see."""
    if not isinstance(payload, dict) or kind in TICKER_SKIP:
        return None
    if not kind.startswith(TICKER_KINDS):
        return None
    subject = ""
    if kind.startswith("ticket."):
        subject = str(payload.get("reference")
                      or (payload.get("ticket") or {}).get("reference") or "")
    elif kind.startswith("alarm.") and kind != "alarm.raised":
        found = payload.get("alarm")
        alarm_id = found.get("id") if isinstance(found, dict) else None
        subject = t("event.subject.alarm", id=alarm_id) if alarm_id is not None else ""
    return " ".join(event_sentence({**payload, "actor": actor}, kind, subject=subject,
                                   camera=camera).split())


def age(seconds: float) -> str:
    """Compact age for a wall: 42s, 7m, 3h 05m, 12d 4h (42dtk, 7mnt, 3j 05mnt, 12hr 4j)."""
    s = max(0, int(seconds))
    if s < 60:
        return t("age.seconds", s=s)
    if s < 3600:
        return t("age.minutes", m=s // 60)
    if s < 86400:
        return t("age.hours", h=s // 3600, m=s % 3600 // 60)
    return t("age.days", d=s // 86400, h=s % 86400 // 3600)
