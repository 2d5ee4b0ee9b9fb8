"""Working days in Bandung: Monday to Friday, minus Indonesian public holidays and
the city's own days off.

Complaints (P3/P4) are promised in working days (LAPOR!: verified within 3, answered
within 5), so a complaint filed on Friday evening is not late on Monday morning.

National holidays come from the maintained `holidays` package (Indonesia), for
any year: fixed dates, and the moving ones of the Islamic, Chinese, Hindu,
Buddhist and Christian calendars (future Islamic dates are the package's
estimates until the government's yearly decree, SKB 3 Menteri, is published and
the package follows it). Keep the package current. What the package does not
know is the city's to say: the joint leave days (cuti bersama) of the decree and
any local day off, as `PANTAU_CITY_HOLIDAYS` (comma-separated YYYY-MM-DD), read
once when the server starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

JAKARTA = ZoneInfo("Asia/Jakarta")

# Years are filled in as they are asked about (the package computes them).
_NATIONAL = holidays.country_holidays("ID")
_city: frozenset[date] = frozenset()


def parse_city_holidays(raw: str) -> frozenset[date]:
    """`2026-03-20, 2026-12-24` -> dates; ValueError naming the bad entry."""
    days = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            days.add(date.fromisoformat(part))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not a YYYY-MM-DD date") from exc
    return frozenset(days)


def use_city_holidays(days: Iterable[date]) -> None:
    """The city's own days off from now on (the server sets them from its settings)."""
    global _city
    _city = frozenset(days)


def holiday_name(day: date) -> str | None:
    """Why `day` is a holiday (None if it is not one)."""
    if day in _city:
        return "city holiday"
    name = _NATIONAL.get(day)
    return str(name) if name else None


def is_holiday(day: date) -> bool:
    return day in _city or day in _NATIONAL


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
