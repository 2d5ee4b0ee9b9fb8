"""The console's screens, by the name used in `go(...)` actions and palette commands."""

from __future__ import annotations

from tui.screens.alarms import AlarmsScreen
from tui.screens.call import CallScreen
from tui.screens.cameras import CamerasScreen
from tui.screens.queue import QueueScreen
from tui.screens.shift import ShiftScreen

SCREENS_BY_NAME: dict[str, type] = {
    "queue": QueueScreen,
    "call": CallScreen,
    "alarms": AlarmsScreen,
    "cameras": CamerasScreen,
    "shift": ShiftScreen,
}
