"""Escalation of alarms nobody acknowledged in time: supervisor, then police desk.

Level 1 is due `escalate_after_s` after the alarm was raised, level 2 another
`escalate_step_s` later. One statement picks due alarms with FOR UPDATE SKIP
LOCKED and raises their level only while they are still `raised`: an alarm being
acknowledged at that moment is either skipped (its row is locked) or re-checked
after the acknowledgement commits, so it never escalates after acknowledgement,
and two server processes never escalate the same step twice.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from db import events
from server.alarms.lifecycle import load_alarms

LEVELS = {1: "supervisor", 2: "police_desk"}
MAX_LEVEL = max(LEVELS)

_ESCALATE = f"""
WITH due AS (
    SELECT id FROM panic_alarms
    WHERE status = 'raised' AND escalation_level < {MAX_LEVEL}
      AND raised_at + make_interval(secs => $1::float8 + escalation_level * $2::float8) <= now()
    ORDER BY id
    LIMIT 100
    FOR UPDATE SKIP LOCKED)
UPDATE panic_alarms a SET escalation_level = a.escalation_level + 1, escalated_at = now()
FROM due
WHERE a.id = due.id AND a.status = 'raised'
RETURNING a.id, a.escalation_level
"""


async def escalate_due(after_s: float, step_s: float) -> list[tuple[int, int]]:
    """Escalate every alarm that is due one step; returns (alarm id, new level) pairs."""
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(_ESCALATE, [after_s, step_s])
        if not rows:
            return []
        levels = {int(r["id"]): int(r["escalation_level"]) for r in rows}
        for alarm in await load_alarms(tx, sorted(levels)):
            level = levels[alarm["id"]]
            await events.append(tx, "alarm.escalated", "alarm", alarm["id"],
                                "system:escalation",
                                {"alarm": alarm, "level": level, "to": LEVELS[level]})
    return sorted(levels.items())
