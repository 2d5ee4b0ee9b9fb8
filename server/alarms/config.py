"""Alarm timings, from the settings; tests put a fast AlarmConfig on the app.

Every figure that decides when something happens to an alarm lives here, so the
tests can run the real scheduler with sub-second timings instead of faking time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from server.alarms.contacts import ContactSender, LogSender
from server.settings import Settings


@dataclass
class AlarmConfig:
    """The timings of server.settings.Settings (alarm_*, device_*) in one value the
    alarm code is handed; the defaults are the settings' defaults."""

    # Acknowledgement target is 30 s: unacknowledged by then, the supervisor is
    # called; `escalate_step_s` later, the police desk.
    escalate_after_s: float = 30.0
    escalate_step_s: float = 60.0
    # A device silent this long (no heartbeat, no alarm) is shown offline.
    offline_after_s: float = 180.0
    # How far a signed request's timestamp may be from the server clock.
    clock_window_s: float = 30.0
    # How often the scheduler looks for due work (escalations, offline devices,
    # pending messages). Alarms themselves are pushed at once; this is only timers.
    tick_s: float = 1.0
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


    @classmethod
    def from_settings(cls, settings: Settings) -> AlarmConfig:
        return cls(escalate_after_s=settings.alarm_escalate_after,
                   escalate_step_s=settings.alarm_escalate_step,
                   offline_after_s=settings.device_offline_after,
                   clock_window_s=settings.device_clock_window,
                   tick_s=settings.alarm_tick)


alarm_config_key = web.AppKey("alarm_config", AlarmConfig)


def config_of(app: web.Application) -> AlarmConfig:
    """The app's alarm configuration (set by server.alarms.scheduler.setup_alarms)."""
    return app[alarm_config_key]
