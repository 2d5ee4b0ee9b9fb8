"""Alarm timings, from the environment; tests put a fast AlarmConfig on the app.

Every figure that decides when something happens to an alarm lives here, so the
tests can run the real scheduler with sub-second timings instead of faking time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from aiohttp import web

from server.alarms.contacts import ContactSender, LogSender


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SystemExit(f"pantau: {name} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise SystemExit(f"pantau: {name} must be positive, got {raw!r}")
    return value


@dataclass
class AlarmConfig:
    """See the README's configuration table for the environment variables."""

    # Acknowledgement target is 30 s: unacknowledged by then, the supervisor is
    # called; `escalate_step_s` later, the police desk.
    escalate_after_s: float = field(
        default_factory=lambda: _float_env("PANTAU_ALARM_ESCALATE_AFTER", 30.0))
    escalate_step_s: float = field(
        default_factory=lambda: _float_env("PANTAU_ALARM_ESCALATE_STEP", 60.0))
    # A device silent this long (no heartbeat, no alarm) is shown offline.
    offline_after_s: float = field(
        default_factory=lambda: _float_env("PANTAU_DEVICE_OFFLINE_AFTER", 180.0))
    # How far a signed request's timestamp may be from the server clock.
    clock_window_s: float = field(
        default_factory=lambda: _float_env("PANTAU_DEVICE_CLOCK_WINDOW", 30.0))
    # How often the scheduler looks for due work (escalations, offline devices,
    # pending messages). Alarms themselves are pushed at once; this is only timers.
    tick_s: float = field(default_factory=lambda: _float_env("PANTAU_ALARM_TICK", 1.0))
    # Contact messages: attempts before a message is marked failed, first retry delay.
    send_attempts: int = 5
    send_retry_s: float = 2.0
    sender: ContactSender = field(default_factory=LogSender)

    def __post_init__(self) -> None:
        for name in ("escalate_after_s", "escalate_step_s", "offline_after_s",
                     "clock_window_s", "tick_s", "send_retry_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.send_attempts < 1:
            raise ValueError("send_attempts must be at least 1")


alarm_config_key = web.AppKey("alarm_config", AlarmConfig)


def config_of(app: web.Application) -> AlarmConfig:
    """The app's alarm configuration (set by server.alarms.scheduler.setup_alarms)."""
    return app[alarm_config_key]
