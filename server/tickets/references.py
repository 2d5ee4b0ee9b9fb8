"""Public ticket references: BDG-YYMM-NNNNN (month in Asia/Jakarta, dense per month).

A reporter reads the reference out over the phone, so it is short, upper-case
and says when the ticket was filed. Numbers come from one counter row per month,
bumped in its own statement before the ticket's transaction (the way a sequence
works): concurrent intakes never wait on each other for a number, at the price
of a rare gap when an insert fails after its number was drawn. The demo seed's
DEMO-NNNNN references are ordinary references as far as every lookup is concerned.
"""

from __future__ import annotations

import re
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from server.tickets.calendar import JAKARTA

PREFIX = "BDG"
REFERENCE = re.compile(r"^(?:BDG-\d{4}-\d{5,}|DEMO-\d{5,}|BENCH-\d+)$")

_BUMP = """
INSERT INTO ticket_reference_counters (month, last_value) VALUES ($1, $2)
ON CONFLICT (month) DO UPDATE SET last_value = ticket_reference_counters.last_value + $2
RETURNING last_value
"""


def looks_like_reference(text: str) -> bool:
    return bool(REFERENCE.match(text.strip().upper()))


async def next_references(tx: BaseDBAsyncClient, now: datetime, n: int) -> list[str]:
    """The next `n` references for tickets created at `now`, in one statement."""
    month = now.astimezone(JAKARTA).strftime("%y%m")
    rows = await tx.execute_query_dict(_BUMP, [month, n])
    last = int(rows[0]["last_value"])
    return [f"{PREFIX}-{month}-{k:05d}" for k in range(last - n + 1, last + 1)]
