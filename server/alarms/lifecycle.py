"""The alarm lifecycle: raise (from a device), acknowledge, dispatch, resolve.

    raised -> acknowledged -> dispatched -> resolved | false_alarm
    (acknowledged may also go straight to resolved | false_alarm)

Every step is one transaction: a conditional UPDATE (so two operators clicking
at once, or the escalation task, can never both win) and one event appended
last. Raising also creates the linked P1 ticket and the contact outbox rows in
the same transaction (through the tickets' intake), so an alarm never exists
without them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db import events
from server.alarms.contacts import message_body
from server.alarms.geo import EARTH_RADIUS_M, NEAREST_CAMERAS
from server.tickets.intake import NewTicket, create_ticket

OUTCOMES = ("resolved", "false_alarm")


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


async def load_alarms(conn: BaseDBAsyncClient, ids: list[int]) -> list[dict[str, Any]]:
    rows = await conn.execute_query_dict(ALARM_SELECT + " WHERE a.id = ANY($1) ORDER BY a.id",
                                         [ids])
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


# One round trip: lock and touch the device row, and remember the request's
# signature. The nonce's foreign key takes a KEY SHARE lock on the device row,
# which does not conflict with the NO KEY UPDATE lock taken here, so concurrent
# retries of one press wait for each other on the device row and never deadlock.
_TOUCH_DEVICE = """
WITH old AS (SELECT id, offline_since FROM devices WHERE id = $1 FOR NO KEY UPDATE),
touched AS (
    UPDATE devices d SET last_seen_at = now(), offline_since = NULL
    FROM old WHERE d.id = old.id
    RETURNING d.id, d.code, d.owner_name, d.owner_kind, d.address, d.district_id, d.lat,
              d.lon, d.contacts, old.offline_since AS was_offline_since,
              (SELECT code FROM districts WHERE id = d.district_id) AS district_code),
nonce AS (
    INSERT INTO device_request_nonces (device_id, signature)
    SELECT $1, $2::text WHERE $2::text IS NOT NULL
    ON CONFLICT (device_id, signature) DO NOTHING
    RETURNING id)
SELECT touched.*, (SELECT count(*) FROM nonce) AS fresh FROM touched
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
    rows = await tx.execute_query_dict(_TOUCH_DEVICE, [device_id, signature])
    if not rows:
        raise AlarmError(401, "unknown device")
    if signature is not None and not rows[0]["fresh"]:
        raise Replayed()
    return rows[0]


async def device_back_online(tx: BaseDBAsyncClient, device: dict[str, Any], actor: str) -> None:
    if device["was_offline_since"] is not None:
        await events.append(tx, "device.online", "device", device["id"], actor,
                            {"device": device["code"], "owner_name": device["owner_name"],
                             "offline_since": _iso(device["was_offline_since"])})


# The nearest cameras are ranked in the INSERT itself (haversine in SQL, see
# server/alarms/geo.py for the same formula): one round trip fewer on the path
# every alarm takes.
_INSERT_ALARM = f"""
WITH alarm AS (
    INSERT INTO panic_alarms (device_id, idempotency_key, lat, lon, nearest_cameras)
    SELECT $1, $2, $3::float8, $4::float8, COALESCE((
        SELECT jsonb_agg(jsonb_build_object('code', c.code, 'name', c.name,
                                            'distance_m', round(c.metres)::int)
                         ORDER BY c.metres, c.code)
        FROM (SELECT code, name, {EARTH_RADIUS_M} * 2 * asin(least(1, sqrt(
                     sin(radians(lat - $3::float8) / 2) ^ 2
                     + cos(radians($3::float8)) * cos(radians(lat))
                       * sin(radians(lon - $4::float8) / 2) ^ 2))) AS metres
              FROM cameras WHERE enabled
              ORDER BY metres, code LIMIT {NEAREST_CAMERAS}) c), '[]'::jsonb)
    ON CONFLICT (device_id, idempotency_key) DO NOTHING
    RETURNING id, raised_at),
outbox AS (
    -- one message per contact of the owner, in the same statement
    INSERT INTO alarm_notifications (alarm_id, contact_name, channel, address, body)
    SELECT alarm.id, c.name, COALESCE(c.channel, 'sms'), c.phone, $6
    FROM alarm, jsonb_to_recordset($5::jsonb) AS c(name text, phone text, channel text))
SELECT id, raised_at FROM alarm
"""

_LINK_TICKET = """
UPDATE panic_alarms SET ticket_id = $2 WHERE id = $1
RETURNING id, status, lat, lon, raised_at, acknowledged_at, dispatched_at, resolved_at,
          dispatch_unit, dispatch_note, resolution_note, escalation_level, escalated_at,
          nearest_cameras, ticket_id
"""

async def raise_alarm(device_id: int, idempotency_key: str, *, signature: str | None,
                      lat: float | None = None, lon: float | None = None,
                      actor: str) -> tuple[dict[str, Any], bool]:
    """Raise an alarm for a device, once per idempotency key.

    Returns (alarm, created). A retry with the same key, even one racing the first
    attempt, gets the existing alarm: the INSERT waits on the unique index until
    the other transaction commits, then does nothing and we read the winner.
    """
    async with in_transaction() as tx:
        device = await touch_device(tx, device_id, signature)
        a_lat = lat if lat is not None else device["lat"]
        a_lon = lon if lon is not None else device["lon"]
        contacts = device["contacts"]
        if isinstance(contacts, str):
            contacts = json.loads(contacts)
        # The message says when, in Asia/Jakarta; now() and raised_at differ by ms.
        local = (datetime.now(UTC) + timedelta(hours=7)).strftime("%H:%M")
        rows = await tx.execute_query_dict(_INSERT_ALARM, [
            device_id, idempotency_key, a_lat, a_lon, json.dumps(contacts or []),
            message_body(device["owner_name"], device["address"], local)])
        if not rows:  # this key's alarm exists: answer with it
            existing = await tx.execute_query_dict(
                ALARM_SELECT + " WHERE a.device_id = $1 AND a.idempotency_key = $2",
                [device_id, idempotency_key])
            await device_back_online(tx, device, actor)
            return alarm_json(existing[0]), False
        alarm_id = int(rows[0]["id"])
        # From here to COMMIT the ticket's reference counter and the event-log lock
        # are held, serialising every intake: keep it to two statements.
        ticket = await _create_ticket(alarm_id, device, a_lat, a_lon, actor)
        linked = await tx.execute_query_dict(_LINK_TICKET, [alarm_id, ticket["id"]])
        alarm = alarm_json({
            **linked[0], "ticket_reference": ticket["reference"],
            "device_code": device["code"], "owner_name": device["owner_name"],
            "owner_kind": device["owner_kind"], "address": device["address"],
            "district_id": device["district_id"], "acknowledged_by": None,
            "dispatched_by": None, "resolved_by": None})
        await device_back_online(tx, device, actor)
        await events.append(tx, "alarm.raised", "alarm", alarm_id, actor, {"alarm": alarm})
    return alarm, True


async def _create_ticket(alarm_id: int, device: dict[str, Any], lat: float, lon: float,
                         actor: str) -> dict[str, Any]:
    """The P1 ticket linked to the alarm, through the tickets' own intake.

    Called inside raise_alarm's transaction: intake's transaction nests as a
    savepoint there, so the ticket, its `ticket.created` event and the alarm
    commit together or not at all.
    """
    return await create_ticket(NewTicket(
        channel="panic", priority=1,
        description=f"Tombol darurat / panic button {device['code']}: "
                    f"{device['owner_name']} ({device['address'] or 'no address'}). "
                    f"Alarm #{alarm_id}.",
        address=device["address"], lat=lat, lon=lon, district=device["district_code"],
        reporter_name=device["owner_name"], tags=["panic"],
        attributes={"alarm_id": str(alarm_id), "device": device["code"]}), None, actor)


_TRANSITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    # action: (UPDATE ... SET clause, statuses it may start from)
    "acknowledge": ("status = 'acknowledged', acknowledged_at = now(), acknowledged_by_id = $2",
                    ("raised",)),
    "dispatch": ("status = 'dispatched', dispatched_at = now(), dispatched_by_id = $2,"
                 " dispatch_unit = $3, dispatch_note = $4", ("acknowledged",)),
    "resolve": ("status = $3, resolved_at = now(), resolved_by_id = $2, resolution_note = $4",
                ("acknowledged", "dispatched")),
}


async def transition(alarm_id: int, action: str, *, person_id: int, actor: str,
                     unit: str = "", note: str = "", outcome: str = "resolved"
                     ) -> dict[str, Any]:
    """Move an alarm one step; AlarmError 404 if unknown, 409 if the step is not allowed."""
    set_clause, allowed = _TRANSITIONS[action]
    params: list[Any] = [alarm_id, person_id]
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
        kind = {"acknowledge": "alarm.acknowledged", "dispatch": "alarm.dispatched",
                "resolve": f"alarm.{outcome}"}[action]
        detail: dict[str, Any] = {"alarm": alarm}
        if action == "dispatch":
            detail.update(unit=unit, note=note)
        elif action == "resolve":
            detail.update(outcome=outcome, note=note)
        await events.append(tx, kind, "alarm", alarm_id, actor, detail)
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
        out.append(step)
    return out


async def notifications(conn: BaseDBAsyncClient, alarm_id: int) -> list[dict[str, Any]]:
    """Delivery state of each contact message (operators only: holds phone numbers)."""
    rows = await conn.execute_query_dict(
        "SELECT id, contact_name, channel, address, status, attempts, last_error, sent_at,"
        " next_attempt_at FROM alarm_notifications WHERE alarm_id = $1 ORDER BY id",
        [alarm_id])
    return [{"id": r["id"], "contact": r["contact_name"], "channel": r["channel"],
             "address": r["address"], "status": r["status"], "attempts": r["attempts"],
             "last_error": r["last_error"], "sent_at": _iso(r["sent_at"]),
             "next_attempt_at": _iso(r["next_attempt_at"]) if r["status"] == "pending"
             else None} for r in rows]
