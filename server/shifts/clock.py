"""When a shift runs: templates are wall-clock times in Asia/Jakarta.

A shift is (template, day); `day` is the Jakarta date the shift *starts* on, so
the malam shift of 2026-11-22 runs 22 Nov 23:00 to 23 Nov 07:00 (+07:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
# People may check in, and the supervisor may open, this long before the start.
EARLY = timedelta(hours=1)


def window(day: date, starts_at: time, ends_at: time,
           tz: str = "Asia/Jakarta") -> tuple[datetime, datetime]:
    """(start, end) in UTC; a template ending at or before its start ends next day."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, starts_at, zone)
    end_day = day + timedelta(days=1) if ends_at <= starts_at else day
    end = datetime.combine(end_day, ends_at, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def slot_for(now: datetime, templates: list[tuple[str, time, time]]) -> tuple[str, date]:
    """The (template code, day) whose window contains `now`.

    `templates` is (code, starts_at, ends_at); templates cover the whole day in
    the demo city, and when they do not the nearest upcoming one is returned.
    """
    local = now.astimezone(JAKARTA)
    best: tuple[timedelta, str, date] | None = None
    for day in (local.date() - timedelta(days=1), local.date(), local.date() + timedelta(days=1)):
        for code, starts, ends in templates:
            start, end = window(day, starts, ends)
            if start <= now < end:
                return code, day
            if start > now and (best is None or start - now < best[0]):
                best = (start - now, code, day)
    if best is None:
        raise ValueError("no shift templates")
    return best[1], best[2]


def utcnow() -> datetime:
    return datetime.now(UTC)
