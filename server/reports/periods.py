"""Report periods, with boundaries at midnight Asia/Jakarta.

A ticket filed at 2026-11-22 23:30 +07:00 (Sunday) belongs to 2026-W47 although
it is 16:30 UTC; one at 2026-11-23 00:10 +07:00 belongs to W48. Weeks are ISO
weeks (Monday first), so 2026-W53 exists and early January may be in last
year's W52/W53.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TIMEZONE = "Asia/Jakarta"
JAKARTA = ZoneInfo(TIMEZONE)
KINDS = ("weekly", "monthly", "yearly")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(ValueError):
    """A period string that does not name a period of that kind."""


@dataclass(frozen=True)
class Period:
    kind: str
    label: str
    first_day: date  # inclusive, Jakarta date
    end_day: date  # exclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), JAKARTA).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.end_day, time(0), JAKARTA).astimezone(UTC)

    @property
    def bucket(self) -> str:
        """The trend chart's unit: days for a week or month, months for a year."""
        return "month" if self.kind == "yearly" else "day"


def parse(kind: str, text: str) -> Period:
    """`weekly` 2026-W47, `monthly` 2026-11, `yearly` 2026."""
    text = text.strip()
    if kind == "weekly":
        m = _WEEK.match(text)
        if not m:
            raise PeriodError("a week looks like 2026-W47")
        try:
            monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError as exc:
            raise PeriodError(f"no such ISO week: {text}") from exc
        return Period(kind, text, monday, monday + timedelta(days=7))
    if kind == "monthly":
        m = _MONTH.match(text)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise PeriodError("a month looks like 2026-11")
        first = date(int(m.group(1)), int(m.group(2)), 1)
        nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return Period(kind, text, first, nxt)
    if kind == "yearly":
        m = _YEAR.match(text)
        if not m or int(text) < 1970:  # figures.py counts local days from 1970
            raise PeriodError("a year looks like 2026")
        return Period(kind, text, date(int(text), 1, 1), date(int(text) + 1, 1, 1))
    raise PeriodError(f"kind must be one of: {', '.join(KINDS)}")


def previous(kind: str, now: datetime | None = None) -> Period:
    """The last complete period of a kind (the default a supervisor asks for)."""
    today = (now or datetime.now(UTC)).astimezone(JAKARTA).date()
    if kind == "weekly":
        y, w, _ = (today - timedelta(days=7)).isocalendar()
        return parse(kind, f"{y}-W{w:02d}")
    if kind == "monthly":
        last = today.replace(day=1) - timedelta(days=1)
        return parse(kind, f"{last.year}-{last.month:02d}")
    return parse(kind, str(today.year - 1))
