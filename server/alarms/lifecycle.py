"""The alarm lifecycle: raise (from a device), acknowledge, dispatch, resolve.

    raised -> acknowledged -> dispatched -> resolved | false_alarm
    (acknowledged may also go straight to resolved | false_alarm)

Every step is one transaction: a conditional UPDATE (so two operators clicking
at once, or the escalation task, can never both win) and one event appended
last. Raising is server/alarms/raising.py: presses are group-committed (the
alarm, its contact outbox and `alarm.raised`), and the P1 ticket is linked right
after through the tickets' intake (`link_tickets` here); the timers repair a
missing link.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db import events
from server.alarms.follow import follow
from server.auth import Principal
from server.errors import ApiError
from server.tickets.intake import Intake, NewTicket, create_tickets

OUTCOMES = ("resolved", "false_alarm")


log = logging.getLogger("pantau.alarms")


class AlarmError(Exception):
    """A rule the request breaks; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Replayed(Exception):
    """The device request's signature was used before."""


ALARM_SELECT = """
SELECT a.id, a.status, a.lat, a.lon, a.raised_at, a.acknowledged_at, a.dispatched_at,
       a.resolved_at, a.dispatch_unit, a.dispatch_note, a.resolution_note,
       a.escalation_level, a.escalated_at, a.nearest_cameras, a.ticket_id,
       t.reference AS ticket_reference,
       d.code AS device_code, d.owner_name, d.owner_kind, d.address, d.district_id,
       pa.username AS acknowledged_by, pd.username AS dispatched_by,
       pr.username AS resolved_by
FROM panic_alarms a
JOIN devices d ON d.id = a.device_id
LEFT JOIN tickets t ON t.id = a.ticket_id
LEFT JOIN people pa ON pa.id = a.acknowledged_by_id
LEFT JOIN people pd ON pd.id = a.dispatched_by_id
LEFT JOIN people pr ON pr.id = a.resolved_by_id
"""


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def alarm_json(row: dict[str, Any]) -> dict[str, Any]:
    """The alarm as consoles and walls receive it (no contact phone numbers)."""
    cams = row["nearest_cameras"]
    if isinstance(cams, str):
        cams = json.loads(cams)
    return {
        "id": int(row["id"]), "status": row["status"],
        "device": row["device_code"], "owner_name": row["owner_name"],
        "owner_kind": row["owner_kind"], "address": row["address"],
        "district_id": row["district_id"], "lat": row["lat"], "lon": row["lon"],
        "raised_at": _iso(row["raised_at"]),
        "acknowledged_at": _iso(row["acknowledged_at"]),
        "acknowledged_by": row["acknowledged_by"],
        "dispatched_at": _iso(row["dispatched_at"]), "dispatched_by": row["dispatched_by"],
        "dispatch_unit": row["dispatch_unit"], "dispatch_note": row["dispatch_note"],
        "resolved_at": _iso(row["resolved_at"]), "resolved_by": row["resolved_by"],
        "resolution_note": row["resolution_note"],
        "escalation_level": row["escalation_level"], "escalated_at": _iso(row["escalated_at"]),
        "ticket_id": row["ticket_id"], "ticket_reference": row["ticket_reference"],
        "nearest_cameras": cams or [],
    }


ALARMS_BY_ID = ALARM_SELECT + " WHERE a.id = ANY($1::bigint[]) ORDER BY a.id"


async def load_alarms(conn: BaseDBAsyncClient, ids: list[int]) -> list[dict[str, Any]]:
    rows = await conn.execute_query_dict(ALARMS_BY_ID, [ids])
    return [alarm_json(r) for r in rows]


async def get_alarm(conn: BaseDBAsyncClient, alarm_id: int) -> dict[str, Any] | None:
    found = await load_alarms(conn, [alarm_id])
    return found[0] if found else None


async def list_alarms(conn: BaseDBAsyncClient, *, include_closed: bool,
                      limit: int) -> list[dict[str, Any]]:
    where = "" if include_closed else \
        " WHERE a.status IN ('raised', 'acknowledged', 'dispatched')"
    rows = await conn.execute_query_dict(ALARM_SELECT + where + " ORDER BY a.id DESC LIMIT $1",
                                         [limit])
    return [alarm_json(r) for r in rows]


# One round trip for a batch of device requests ($1 device ids, $2 their
# signatures): lock the device rows in id order (so concurrent batches cannot
# deadlock) and touch them, and spend each request's signature. The nonce's
# foreign key takes a KEY SHARE lock on the device row, which does not conflict
# with the NO KEY UPDATE lock taken here, so concurrent retries of one press wait
# for each other on the device row and never deadlock. One row per request of a
# known device, `n` its position in the input, `fresh` false for a replay.
TOUCH_DEVICES = """
WITH input AS (
    SELECT * FROM unnest($1::int[], $2::text[]) WITH ORDINALITY AS i(device_id, signature, n)),
old AS (
    SELECT id, offline_since FROM devices
    WHERE id IN (SELECT device_id FROM input) ORDER BY id FOR NO KEY UPDATE),
touched AS (
    UPDATE devices d SET last_seen_at = now(), offline_since = NULL
    FROM old WHERE d.id = old.id
    RETURNING d.id, d.code, d.owner_name, d.owner_kind, d.address, d.district_id, d.lat,
              d.lon, old.offline_since AS was_offline_since),
nonce AS (
    INSERT INTO device_request_nonces (device_id, signature)
    SELECT device_id, signature FROM input JOIN old ON old.id = input.device_id
    WHERE signature IS NOT NULL
    ON CONFLICT (device_id, signature) DO NOTHING
    RETURNING device_id, signature)
SELECT input.n, touched.*,
       input.signature IS NULL OR EXISTS (
           SELECT 1 FROM nonce WHERE nonce.device_id = input.device_id
                                 AND nonce.signature = input.signature) AS fresh
FROM input JOIN touched ON touched.id = input.device_id
"""


async def touch_device(tx: BaseDBAsyncClient, device_id: int,
                       signature: str | None) -> dict[str, Any]:
    """Mark the device seen now (and no longer offline) and spend the request's
    signature; returns the device row.

    Replayed if the signature was used before (in the caller's transaction, so a
    request whose work rolls back may be sent again). Locks the device row, so
    concurrent requests from one device serialise here; `was_offline_since` tells
    the caller to append a device.online event.
    """
    rows = await tx.execute_query_dict(TOUCH_DEVICES, [[device_id], [signature]])
    if not rows:
        raise AlarmError(401, "unknown device")
    if not rows[0]["fresh"]:
        raise Replayed()
    return rows[0]


def device_online_event(device: dict[str, Any], actor: str) -> events.EventRow | None:
    """The device.online event a touched device that had been offline calls for."""
    if device["was_offline_since"] is None:
        return None
    return ("device.online", "device", device["id"], actor,
            {"device": device["code"], "owner_name": device["owner_name"],
             "offline_since": _iso(device["was_offline_since"])}, None)


async def device_back_online(tx: BaseDBAsyncClient, device: dict[str, Any], actor: str) -> None:
    online = device_online_event(device, actor)
    if online is not None:
        await events.append_many(tx, [online])


_UNLINKED = """
SELECT a.id, a.lat, a.lon, d.code, d.owner_name, d.address,
       (SELECT code FROM districts WHERE id = d.district_id) AS district_code
FROM panic_alarms a JOIN devices d ON d.id = a.device_id
WHERE a.id = ANY($1::bigint[]) AND a.ticket_id IS NULL
ORDER BY a.id
FOR UPDATE OF a"""

_LINK = """
UPDATE panic_alarms a SET ticket_id = l.ticket_id
FROM unnest($1::bigint[], $2::bigint[]) AS l(alarm_id, ticket_id)
WHERE a.id = l.alarm_id
"""


async def link_tickets(alarm_ids: list[int], actor: str, *,
                       skip_locked: bool = False) -> list[dict[str, Any]]:
    """Create the alarms' P1 tickets through the tickets' intake and link them, once.

    One transaction for the batch; the tickets' own transaction nests in it as a
    savepoint, so each ticket, its `ticket.created` event, the link and
    `alarm.ticket_linked` commit together or not at all. The alarm rows are
    locked first (in id order) and `ticket_id IS NULL` is checked again once a
    lock is granted, so two linkers (the one behind the raiser, the repair timer,
    in any server process) never both create one. The linker waits for a row an
    operator is acknowledging at that moment; the repair timer skips it
    (`skip_locked`). Returns the alarms linked here, after linking.
    """
    async with in_transaction() as tx:
        await tx.execute_query("SET LOCAL lock_timeout = '5s'")
        rows = await tx.execute_query_dict(
            _UNLINKED + (" SKIP LOCKED" if skip_locked else ""), [alarm_ids])
        if not rows:
            return []
        made = await create_tickets([Intake(_alarm_ticket(r), None, actor) for r in rows])
        # Without its category (deactivated by the city) an alarm still gets its
        # ticket: a P1 ticket with no category beats none.
        retry = [k for k, t in enumerate(made) if isinstance(t, ApiError)
                 and set(t.body_json.get("fields") or {}) == {"category"}]
        if retry:
            again = await create_tickets([
                Intake(replace(_alarm_ticket(rows[k]), category=None), None, actor)
                for k in retry])
            for k, t in zip(retry, again, strict=True):
                made[k] = t
        links = [(int(r["id"]), t) for r, t in zip(rows, made, strict=True)
                 if not isinstance(t, ApiError)]
        for r, t in zip(rows, made, strict=True):
            if isinstance(t, ApiError):  # a device record intake refuses: say so, loudly
                log.error("alarm ticket refused by intake",
                          extra={"alarm_id": r["id"], "err": str(t.body_json)})
        if not links:
            return []
        ids = [a for a, _ in links]
        await tx.execute_query(_LINK, [ids, [int(t["id"]) for _, t in links]])
        alarms = await load_alarms(tx, ids)
        for alarm in alarms:
            # An operator was faster than the ticket: it catches up with the alarm.
            await follow(tx, alarm, None)
        await events.append_many(tx, [
            ("alarm.ticket_linked", "alarm", alarm["id"], actor,
             {"alarm": alarm, "ticket_reference": alarm["ticket_reference"]}, None)
            for alarm in alarms])
    return alarms


async def link_missing_tickets(older_than_s: float = 2.0, limit: int = 50) -> int:
    """Repair: link a ticket to every alarm still without one (see server/alarms/raising.py)."""
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            "SELECT id FROM panic_alarms WHERE ticket_id IS NULL"
            " AND raised_at < now() - make_interval(secs => $1::float8)"
            " ORDER BY id LIMIT $2", [older_than_s, limit])
    if not rows:
        return 0
    return len(await link_tickets([int(r["id"]) for r in rows], "system:alarms",
                                  skip_locked=True))


PANIC_CATEGORY = "tombol-darurat"  # the panic channel's own (migration 0020)


def _alarm_ticket(alarm: dict[str, Any]) -> NewTicket:
    """The P1 ticket an alarm gets."""
    return NewTicket(
        channel="panic", priority=1, category=PANIC_CATEGORY,
        description=f"Tombol darurat / panic button {alarm['code']}: "
                    f"{alarm['owner_name']} ({alarm['address'] or 'no address'}). "
                    f"Alarm #{alarm['id']}.",
        address=alarm["address"], lat=float(alarm["lat"]), lon=float(alarm["lon"]),
        district=alarm["district_code"], reporter_name=alarm["owner_name"], tags=["panic"],
        attributes={"alarm_id": str(alarm["id"]), "device": alarm["code"]})


_TRANSITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    # action: (UPDATE ... SET clause, statuses it may start from)
    "acknowledge": ("status = 'acknowledged', acknowledged_at = now(), acknowledged_by_id = $2",
                    ("raised",)),
    "dispatch": ("status = 'dispatched', dispatched_at = now(), dispatched_by_id = $2,"
                 " dispatch_unit = $3, dispatch_note = $4", ("acknowledged",)),
    "resolve": ("status = $3, resolved_at = now(), resolved_by_id = $2, resolution_note = $4",
                ("acknowledged", "dispatched")),
}


async def transition(alarm_id: int, action: str, principal: Principal, *,
                     unit: str = "", note: str = "", outcome: str = "resolved"
                     ) -> dict[str, Any]:
    """Move an alarm one step, its ticket following (server/alarms/follow.py);
    AlarmError 404 if unknown, 409 if the step is not allowed."""
    set_clause, allowed = _TRANSITIONS[action]
    params: list[Any] = [alarm_id, principal.id]
    if action == "dispatch":
        params += [unit, note]
    elif action == "resolve":
        if outcome not in OUTCOMES:
            raise AlarmError(400, f"outcome must be one of {', '.join(OUTCOMES)}")
        params += [outcome, note]
    states = ", ".join(f"'{s}'" for s in allowed)
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            f"UPDATE panic_alarms SET {set_clause} WHERE id = $1 AND status IN ({states})"
            " RETURNING id", params)
        if not rows:
            current = await tx.execute_query_dict(
                "SELECT status FROM panic_alarms WHERE id = $1", [alarm_id])
            if not current:
                raise AlarmError(404, "alarm not found")
            raise AlarmError(409, f"alarm is {current[0]['status']}; cannot {action} it")
        alarm = await get_alarm(tx, alarm_id)
        assert alarm is not None
        await follow(tx, alarm, principal)
        kind = {"acknowledge": "alarm.acknowledged", "dispatch": "alarm.dispatched",
                "resolve": f"alarm.{outcome}"}[action]
        detail: dict[str, Any] = {"alarm": alarm}
        if action == "dispatch":
            detail.update(unit=unit, note=note)
        elif action == "resolve":
            detail.update(outcome=outcome, note=note)
        await events.append(tx, kind, "alarm", alarm_id, principal.actor, detail)
    return alarm


async def timeline(conn: BaseDBAsyncClient, alarm_id: int) -> list[dict[str, Any]]:
    """Every event about the alarm, in order, without the repeated alarm snapshot."""
    rows = await conn.execute_query_dict(
        "SELECT id, kind, actor, payload, created_at FROM events"
        " WHERE subject_type = 'alarm' AND subject_id = $1 ORDER BY id", [str(alarm_id)])
    out = []
    for r in rows:
        payload = r["payload"]
        if isinstance(payload, str):
            payload = json.loads(payload)
        snapshot = payload.pop("alarm", None) or {}
        step = {"event_id": r["id"], "kind": r["kind"], "at": _iso(r["created_at"]),
                "actor": r["actor"], **payload}
        if snapshot:
            step["status"] = snapshot.get("status")
            # What a timeline sentence names ("panic alarm at <address>"), without
            # repeating the whole snapshot on every step.
            for name in ("address", "device"):
                if snapshot.get(name) and name not in step:
                    step[name] = snapshot[name]
            if snapshot.get("ticket_reference"):
                step["ticket_reference"] = snapshot["ticket_reference"]
        out.append(step)
    return out


def delivery_state(status: str, attempts: int) -> str:
    """pending | retrying | sent | failed | not_delivered (see server/alarms/contacts.py)."""
    if status == "pending":
        return "retrying" if attempts else "pending"
    return status


async def notifications(conn: BaseDBAsyncClient, alarm_id: int) -> list[dict[str, Any]]:
    """Delivery state of each contact message (operators only: holds phone numbers).

    Only `sent` means a gateway took the message; `reason` says why any other
    state is not (yet) that."""
    rows = await conn.execute_query_dict(
        "SELECT id, contact_name, channel, address, status, attempts, last_error, sent_at,"
        " next_attempt_at FROM alarm_notifications WHERE alarm_id = $1 ORDER BY id",
        [alarm_id])
    return [{"id": r["id"], "contact": r["contact_name"], "channel": r["channel"],
             "address": r["address"], "state": delivery_state(r["status"], r["attempts"]),
             "reason": r["last_error"] or None, "attempts": r["attempts"],
             "sent_at": _iso(r["sent_at"]),
             "next_attempt_at": _iso(r["next_attempt_at"]) if r["status"] == "pending"
             else None} for r in rows]
