"""Working days in Bandung: Monday to Friday, minus Indonesian public holidays.

Complaints (P3/P4) are promised in working days (LAPOR!: verified within 3, answered
within 5), so a complaint filed on Friday evening is not late on Monday morning.
Holidays with a fixed date are computed for any year; the moving ones (Islamic,
Chinese, Hindu, Buddhist and Christian calendars) follow the government's yearly
joint decree (SKB 3 Menteri) and are listed here per year: add next year's when
the decree is published.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")

# (month, day): New Year, Labour Day, Pancasila Day, Independence Day, Christmas.
FIXED_HOLIDAYS = ((1, 1), (5, 1), (6, 1), (8, 17), (12, 25))

MOVING_HOLIDAYS: dict[int, tuple[str, ...]] = {
    2025: (
        "2025-01-27",  # Isra Mi'raj
        "2025-01-29",  # Imlek (Chinese New Year)
        "2025-03-29",  # Nyepi
        "2025-03-31", "2025-04-01",  # Idul Fitri
        "2025-04-18",  # Good Friday
        "2025-04-20",  # Easter
        "2025-05-12",  # Waisak (Vesak)
        "2025-05-29",  # Ascension
        "2025-06-06",  # Idul Adha
        "2025-06-27",  # Islamic New Year
        "2025-09-05",  # Maulid Nabi
    ),
    2026: (
        "2026-01-16",  # Isra Mi'raj
        "2026-02-17",  # Imlek
        "2026-03-19",  # Nyepi
        "2026-03-20", "2026-03-21",  # Idul Fitri
        "2026-04-03",  # Good Friday
        "2026-04-05",  # Easter
        "2026-05-14",  # Ascension
        "2026-05-27",  # Idul Adha
        "2026-05-31",  # Waisak
        "2026-06-16",  # Islamic New Year
        "2026-08-25",  # Maulid Nabi
    ),
}

_MOVING: frozenset[date] = frozenset(
    date.fromisoformat(d) for days in MOVING_HOLIDAYS.values() for d in days)


def is_holiday(day: date) -> bool:
    return (day.month, day.day) in FIXED_HOLIDAYS or day in _MOVING


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def add_working_days(start: datetime, days: int) -> datetime:
    """`start` plus `days` working days, at the same local time of day.

    A start on a weekend or holiday counts from the beginning (00:00, Asia/Jakarta)
    of the next working day, so a Saturday complaint gets the whole of Monday.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    local = start.astimezone(JAKARTA)
    day = local.date()
    clock = local.time()
    if not is_working_day(day):
        while not is_working_day(day):
            day += timedelta(days=1)
        clock = time(0)
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return datetime.combine(day, clock, JAKARTA).astimezone(UTC)
