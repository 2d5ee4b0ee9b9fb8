"""Handover: what the outgoing supervisor leaves, and the incoming one acknowledges.

The summary is a snapshot taken when the note is written (at close): open P1/P2
tickets, unacknowledged and open panic alarms, SLA deadlines that passed unmet
during the shift, and cameras whose last health event says offline (the relay
writes camera.online/camera.offline to the event log; a camera nobody watches
is idle, not offline). The next shift cannot be opened until its incoming
handover is acknowledged, so the note stays in front of the incoming supervisor.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db import events
from server.reports.figures import ACK_MISSED, RESOLVE_MISSED, SLA_EXPR
from server.shifts.actors import Actor, require_supervisor
from server.shifts.clock import JAKARTA, utcnow
from server.shifts.errors import ShiftError
from server.shifts.store import ShiftRow, as_json, get_shift

LIST_LIMIT = 50
MAX_NOTES = 5000
CAMERA_HEALTH_SOURCE = "event log (camera.online / camera.offline from the relay)"

_OPEN_EMERGENCIES = """
SELECT t.reference, t.priority, t.status, d.code AS department, t.created_at, t.ack_due_at
FROM tickets t LEFT JOIN departments d ON d.id = t.department_id
WHERE t.priority <= 2 AND t.status IN ('new','triaged','routed','acknowledged','in_progress')
ORDER BY t.priority, t.created_at
"""

_OPEN_ALARMS = """
SELECT a.id, a.status, dv.code AS device, a.raised_at, a.acknowledged_at, a.escalation_level
FROM panic_alarms a JOIN devices dv ON dv.id = a.device_id
WHERE a.status IN ('raised', 'acknowledged', 'dispatched')
ORDER BY a.raised_at
"""

# A deadline that fell inside the shift and is missed as the reports judge it
# (server/reports/figures.py): marked by the SLA scheduler, met late, or unmet.
_SLA_BREACHES = f"""
SELECT t.reference, t.priority, t.status, d.code AS department, 'acknowledge' AS kind,
       t.ack_due_at AS due_at
FROM tickets t LEFT JOIN departments d ON d.id = t.department_id
WHERE t.ack_due_at >= $1 AND t.ack_due_at < $2 AND {SLA_EXPR} AND {ACK_MISSED}
UNION ALL
SELECT t.reference, t.priority, t.status, d.code, 'resolve', t.resolve_due_at
FROM tickets t LEFT JOIN departments d ON d.id = t.department_id
WHERE t.resolve_due_at >= $1 AND t.resolve_due_at < $2 AND {SLA_EXPR} AND {RESOLVE_MISSED}
ORDER BY due_at
"""

_CAMERAS_OFFLINE = """
SELECT c.code, c.name, last.created_at AS since
FROM (SELECT DISTINCT ON (subject_id) subject_id, kind, created_at
      FROM events
      WHERE subject_type = 'camera' AND kind IN ('camera.online', 'camera.offline')
      ORDER BY subject_id, id DESC) AS last
JOIN cameras c ON c.id::text = last.subject_id
WHERE last.kind = 'camera.offline' AND c.enabled
ORDER BY c.code
"""


def _section(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": len(rows), "items": [_plain(r) for r in rows[:LIST_LIMIT]]}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


async def snapshot(conn: BaseDBAsyncClient, shift: ShiftRow, now: datetime) -> dict[str, Any]:
    """The facts a handover carries, as of `now`."""
    start, _end = shift.window
    alarms = await conn.execute_query_dict(_OPEN_ALARMS, [])
    return {
        "taken_at": now.isoformat(),
        "window": {"start": start.isoformat(), "end": now.isoformat()},
        "open_emergencies": _section(await conn.execute_query_dict(_OPEN_EMERGENCIES, [])),
        "alarms": {**_section(alarms),
                   "unacknowledged": sum(1 for a in alarms if a["status"] == "raised")},
        "sla_breaches": _section(await conn.execute_query_dict(_SLA_BREACHES,
                                                               [start, now, now])),
        "cameras_offline": {**_section(await conn.execute_query_dict(_CAMERAS_OFFLINE, [])),
                            "source": CAMERA_HEALTH_SOURCE},
    }


async def _next_shift_id(conn: BaseDBAsyncClient, shift: ShiftRow) -> int | None:
    """The shift starting when this one ends (planned now if it was not yet)."""
    _start, end = shift.window
    tpl = await conn.execute_query_dict(
        "SELECT id FROM shift_templates WHERE starts_at = $1 ORDER BY id LIMIT 1",
        [shift.ends_at])
    if not tpl:
        return None
    day = end.astimezone(JAKARTA).date()
    await conn.execute_query(
        "INSERT INTO shifts (template_id, day) VALUES ($1, $2)"
        " ON CONFLICT (template_id, day) DO NOTHING", [tpl[0]["id"], day])
    rows = await conn.execute_query_dict(
        "SELECT id FROM shifts WHERE template_id = $1 AND day = $2", [tpl[0]["id"], day])
    return int(rows[0]["id"])


async def write_handover(shift_id: int, actor: Actor, notes: str = "", *,
                         now: datetime | None = None) -> dict[str, Any]:
    """Write (or rewrite, until acknowledged) the handover of an open shift."""
    require_supervisor(actor, "write a handover")
    notes = notes.strip()
    if len(notes) > MAX_NOTES:
        raise ShiftError(f"notes: at most {MAX_NOTES} characters", "invalid", "notes")
    now = now or utcnow()
    async with in_transaction() as tx:
        shift = await get_shift(tx, shift_id, lock=True)
        if shift.status != "open":
            raise ShiftError(f"shift {shift.label} is {shift.status}, not open",
                             "conflict", "shift")
        existing = await tx.execute_query_dict(
            "SELECT id, notes, acknowledged_at FROM shift_handovers WHERE shift_id = $1",
            [shift.id])
        if existing and existing[0]["acknowledged_at"] is not None:
            raise ShiftError("the handover was already acknowledged", "conflict", "shift")
        if existing and not notes:
            notes = existing[0]["notes"]
        summary = await snapshot(tx, shift, now)
        next_id = await _next_shift_id(tx, shift)
        rows = await tx.execute_query_dict(
            "INSERT INTO shift_handovers (shift_id, next_shift_id, written_by_id, notes,"
            " summary, created_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)"
            " ON CONFLICT (shift_id) DO UPDATE SET notes = EXCLUDED.notes,"
            " summary = EXCLUDED.summary, written_by_id = EXCLUDED.written_by_id,"
            " created_at = EXCLUDED.created_at RETURNING id",
            [shift.id, next_id, actor.id, notes, json.dumps(summary), now])
        handover_id = int(rows[0]["id"])
        await events.append(tx, "shift.handover_created", "shift", shift.id, actor.label,
                            {"shift": shift.label, "handover_id": handover_id,
                             "next_shift_id": next_id, "revised": bool(existing),
                             "counts": _counts(summary), "via": actor.via})
    return await handover(handover_id)


def _counts(summary: dict[str, Any]) -> dict[str, int]:
    return {k: int(summary[k]["count"]) for k in
            ("open_emergencies", "alarms", "sla_breaches", "cameras_offline") if k in summary}


_HANDOVER_SQL = """
SELECT h.id, h.shift_id, h.next_shift_id, h.notes, h.summary, h.created_at,
       h.acknowledged_at, w.username AS written_by, a.username AS acknowledged_by,
       t.code || ' ' || s.day AS shift
FROM shift_handovers h
JOIN shifts s ON s.id = h.shift_id JOIN shift_templates t ON t.id = s.template_id
LEFT JOIN people w ON w.id = h.written_by_id
LEFT JOIN people a ON a.id = h.acknowledged_by_id
"""


def _handover_json(row: dict[str, Any]) -> dict[str, Any]:
    out = _plain(row)
    out["summary"] = as_json(row["summary"])
    out["pending"] = row["acknowledged_at"] is None
    return out


async def handover(handover_id: int) -> dict[str, Any]:
    rows = await connections.get("default").execute_query_dict(
        _HANDOVER_SQL + " WHERE h.id = $1", [handover_id])
    if not rows:
        raise ShiftError(f"no handover {handover_id}", "not_found", "handover")
    return _handover_json(rows[0])


async def handovers(*, pending_only: bool = False, shift_id: int | None = None,
                    limit: int = 20) -> list[dict[str, Any]]:
    """Newest first; `shift_id` matches the outgoing or the incoming shift."""
    where, params = ["TRUE"], []
    if pending_only:
        where.append("h.acknowledged_at IS NULL")
    if shift_id is not None:
        params.append(shift_id)
        where.append(f"(h.shift_id = ${len(params)} OR h.next_shift_id = ${len(params)})")
    params.append(limit)
    rows = await connections.get("default").execute_query_dict(
        _HANDOVER_SQL + f" WHERE {' AND '.join(where)} ORDER BY h.created_at DESC"
        f" LIMIT ${len(params)}", params)
    return [_handover_json(r) for r in rows]


async def acknowledge(handover_id: int, actor: Actor, *,
                      now: datetime | None = None) -> dict[str, Any]:
    """The incoming supervisor confirms they read the note (after the shift closed).

    Allowed: an admin, or a supervisor rostered on the next shift; when nobody is
    rostered as its supervisor, any supervisor except the note's writer.
    """
    require_supervisor(actor, "acknowledge a handover")
    now = now or utcnow()
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            "SELECT h.id, h.shift_id, h.next_shift_id, h.written_by_id, h.acknowledged_at,"
            " s.status AS shift_status FROM shift_handovers h JOIN shifts s ON s.id = h.shift_id"
            " WHERE h.id = $1 FOR UPDATE OF h", [handover_id])
        if not rows:
            raise ShiftError(f"no handover {handover_id}", "not_found", "handover")
        h = rows[0]
        if h["acknowledged_at"] is not None:
            raise ShiftError(f"handover {handover_id} is already acknowledged", "conflict")
        # A note written ahead of the close is rewritten by the close; acknowledging
        # it early would confirm a snapshot that is about to change.
        if h["shift_status"] != "closed":
            raise ShiftError(f"the shift of handover {handover_id} is still open: "
                             "acknowledge it after the close", "conflict")
        if "admin" not in actor.roles:
            if h["written_by_id"] == actor.id:
                raise ShiftError("the incoming supervisor acknowledges, not the writer",
                                 "forbidden")
            incoming = await tx.execute_query_dict(
                "SELECT person_id FROM shift_assignments"
                " WHERE shift_id = $1 AND role = 'supervisor'", [h["next_shift_id"]])
            if incoming and actor.id not in {r["person_id"] for r in incoming}:
                raise ShiftError("only the next shift's supervisor may acknowledge",
                                 "forbidden")
        await tx.execute_query(
            "UPDATE shift_handovers SET acknowledged_at = $2, acknowledged_by_id = $3"
            " WHERE id = $1", [handover_id, now, actor.id])
        await events.append(tx, "shift.handover_acknowledged", "shift", h["shift_id"],
                            actor.label, {"handover_id": handover_id,
                                          "next_shift_id": h["next_shift_id"],
                                          "via": actor.via})
    return await handover(handover_id)
