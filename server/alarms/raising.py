"""Raising panic alarms: the presses that arrive together, in one transaction.

A press must reach every console within milliseconds even when a hundred
devices press at once, so presses are group-committed (server/groupcommit.py).
Per batch, in one transaction on the raw asyncpg pool:
  1. lock and touch the devices and spend each request's signature (replay
     check): lifecycle.TOUCH_DEVICES, which heartbeats use too;
  2. insert the alarms with their nearest cameras and contact outbox,
     `ON CONFLICT DO NOTHING` on (device, idempotency key) so a retry gets the
     existing alarm;
  3. read the alarms that already existed;
  4. append `device.online` and `alarm.raised` events.
Two presses of one batch never share a (device, key) or a (device, signature):
the repeat waits for the next batch and finds the alarm, or the spent signature.

The P1 ticket is not on this path: `TicketLinker` creates the tickets right
after, in batches of their own, and the alarm timers repair any alarm a dead
process left without one (lifecycle.link_tickets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from db import events
from server.alarms.contacts import message_body
from server.alarms.geo import EARTH_RADIUS_M, NEAREST_CAMERAS
from server.alarms.lifecycle import (
    ALARMS_BY_ID,
    TOUCH_DEVICES,
    AlarmError,
    Replayed,
    alarm_json,
    device_online_event,
    link_tickets,
)
from server.groupcommit import GroupCommit

log = logging.getLogger("pantau.alarms")


@dataclass(frozen=True)
class Press:
    """One verified device request to raise an alarm."""

    device_id: int
    key: str
    signature: str | None
    lat: float | None
    lon: float | None
    actor: str

    def __post_init__(self) -> None:
        # One press's NaN would fail the whole batch (JSON of the event refuses it),
        # taking other devices' presses with it: refuse it here, alone.
        for value, bound in ((self.lat, 90.0), (self.lon, 180.0)):
            if value is not None and not (math.isfinite(value) and abs(value) <= bound):
                raise ValueError(f"press location out of range: {self.lat}, {self.lon}")


def _conflicts(p: Press) -> tuple[tuple[str, int, str | None], ...]:
    keys: tuple[tuple[str, int, str | None], ...] = (("key", p.device_id, p.key),)
    if p.signature is not None:
        keys += (("signature", p.device_id, p.signature),)
    return keys


# 2. The alarms (nearest cameras ranked in SQL: the haversine of
# server/alarms/geo.py) and one outbox message per contact of each owner.
_INSERT = f"""
WITH input AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::float8[], $4::float8[], $5::text[])
        AS i(device_id, key, lat, lon, body)),
alarm AS (
    INSERT INTO panic_alarms (device_id, idempotency_key, lat, lon, nearest_cameras)
    SELECT i.device_id, i.key, i.lat, i.lon, COALESCE((
        SELECT jsonb_agg(jsonb_build_object('code', c.code, 'name', c.name,
                                            'distance_m', round(c.metres)::int)
                         ORDER BY c.metres, c.code)
        FROM (SELECT code, name, {EARTH_RADIUS_M} * 2 * asin(least(1, sqrt(
                     sin(radians(lat - i.lat) / 2) ^ 2
                     + cos(radians(i.lat)) * cos(radians(lat))
                       * sin(radians(lon - i.lon) / 2) ^ 2))) AS metres
              FROM cameras WHERE enabled
              ORDER BY metres, code LIMIT {NEAREST_CAMERAS}) c), '[]'::jsonb)
    FROM input i
    ON CONFLICT (device_id, idempotency_key) DO NOTHING
    RETURNING id, device_id, idempotency_key, raised_at, nearest_cameras),
outbox AS (
    INSERT INTO alarm_notifications (alarm_id, contact_name, channel, address, body)
    SELECT alarm.id, c.name, COALESCE(c.channel, 'sms'), c.phone, i.body
    FROM alarm
    JOIN input i ON i.device_id = alarm.device_id AND i.key = alarm.idempotency_key
    JOIN devices d ON d.id = alarm.device_id,
    jsonb_to_recordset(d.contacts) AS c(name text, phone text, channel text))
SELECT id, device_id, idempotency_key, raised_at, nearest_cameras FROM alarm
"""

# 3. Alarms an earlier attempt of the same press already raised.
_EXISTING = """
SELECT a.id, a.device_id, a.idempotency_key FROM panic_alarms a
JOIN unnest($1::int[], $2::text[]) AS k(device_id, key)
  ON a.device_id = k.device_id AND a.idempotency_key = k.key
"""

Outcome = tuple[dict[str, Any], bool] | BaseException


async def raise_batch(conn: asyncpg.Connection, presses: list[Press]) -> list[Outcome]:
    """Raise every press in one transaction; each press's (alarm, created) or the
    exception its request gets (AlarmError, Replayed), in order.

    Presses must be distinct by (device, key) and by (device, signature); the
    caller (AlarmRaiser) keeps repeats for the next batch. Raises on a database
    failure, having stored nothing, so the caller can retry the presses.
    """
    outcome: dict[int, Outcome] = {}
    event_rows: list[events.EventRow] = []
    async with conn.transaction():
        devices = {int(r["n"]) - 1: r for r in await conn.fetch(
            TOUCH_DEVICES, [p.device_id for p in presses], [p.signature for p in presses])}
        online_told: set[int] = set()
        go: list[int] = []
        for i, p in enumerate(presses):
            d = devices.get(i)
            if d is None:
                outcome[i] = AlarmError(401, "unknown device")
            elif not d["fresh"]:
                outcome[i] = Replayed()
            else:
                go.append(i)
            online = device_online_event(d, p.actor) if d is not None else None
            if online is not None and d is not None and d["id"] not in online_told:
                online_told.add(d["id"])
                event_rows.append(online)
        # The message says when, in Asia/Jakarta; now() and raised_at differ by ms.
        local = (datetime.now(UTC) + timedelta(hours=7)).strftime("%H:%M")
        where = {i: (presses[i].lat if presses[i].lat is not None else devices[i]["lat"],
                     presses[i].lon if presses[i].lon is not None else devices[i]["lon"])
                 for i in go}
        made = {(int(r["device_id"]), r["idempotency_key"]): r for r in await conn.fetch(
            _INSERT, [presses[i].device_id for i in go], [presses[i].key for i in go],
            [where[i][0] for i in go], [where[i][1] for i in go],
            [message_body(devices[i]["owner_name"], devices[i]["address"], local)
             for i in go])} if go else {}
        again = [i for i in go if (presses[i].device_id, presses[i].key) not in made]
        existing: dict[tuple[int, str], dict[str, Any]] = {}
        if again:
            found = await conn.fetch(_EXISTING, [presses[i].device_id for i in again],
                                     [presses[i].key for i in again])
            full = {int(r["id"]): alarm_json(dict(r)) for r in await conn.fetch(
                ALARMS_BY_ID, [r["id"] for r in found])}
            existing = {(int(r["device_id"]), r["idempotency_key"]): full[int(r["id"])]
                        for r in found}
        for i in go:
            p, d = presses[i], devices[i]
            row = made.get((p.device_id, p.key))
            if row is None:
                outcome[i] = (existing[(p.device_id, p.key)], False)
                continue
            alarm = alarm_json({
                **row, "status": "raised", "lat": where[i][0], "lon": where[i][1],
                "acknowledged_at": None, "dispatched_at": None, "resolved_at": None,
                "dispatch_unit": "", "dispatch_note": "", "resolution_note": "",
                "escalation_level": 0, "escalated_at": None, "ticket_id": None,
                "ticket_reference": None, "device_code": d["code"],
                "owner_name": d["owner_name"], "owner_kind": d["owner_kind"],
                "address": d["address"], "district_id": d["district_id"],
                "acknowledged_by": None, "dispatched_by": None, "resolved_by": None})
            outcome[i] = (alarm, True)
            event_rows.append(("alarm.raised", "alarm", alarm["id"], p.actor, {"alarm": alarm},
                               None))
        await events.append_many(conn, event_rows)
    return [outcome[i] for i in range(len(presses))]


class AlarmRaiser:
    """Group commit of presses, one per server process; hands each new alarm to
    the ticket linker."""

    def __init__(self, pool: asyncpg.Pool, *, max_batch: int = 200,
                 linker: TicketLinker | None = None) -> None:
        self.pool = pool
        self.linker = linker
        self.group: GroupCommit[Press, tuple[dict[str, Any], bool]] = GroupCommit(
            "alarm-raiser", self._run, max_batch=max_batch, conflicts=_conflicts)
        self.raised = 0

    @property
    def batches(self) -> int:
        return self.group.batches

    def start(self) -> None:
        self.group.start()

    async def stop(self) -> None:
        await self.group.stop()

    async def submit(self, device_id: int, key: str, *, signature: str | None,
                     lat: float | None = None, lon: float | None = None,
                     actor: str) -> tuple[dict[str, Any], bool]:
        """Raise an alarm for a device, once per idempotency key: (alarm, created).

        AlarmError(401) for an unknown device, Replayed for a spent signature;
        database errors propagate (the route answers 503 and the device retries).
        """
        return await self.group.submit(Press(device_id, key, signature, lat, lon, actor))

    async def _run(self, presses: list[Press]) -> list[Outcome]:
        async with self.pool.acquire() as conn:
            outcomes = await raise_batch(conn, presses)
        for outcome in outcomes:
            if isinstance(outcome, tuple) and outcome[1]:
                self.raised += 1
                if self.linker is not None:
                    self.linker.enqueue(int(outcome[0]["id"]))
        return outcomes


class TicketLinker:
    """Creates new alarms' P1 tickets right after the alarms are out.

    In batches (lifecycle.link_tickets: one transaction for all the alarms that
    came in meanwhile), one batch at a time: during a burst the presses keep
    most of the event loop and tickets follow as fast as the rest allows. The
    queue lives in memory only; an alarm a dead process did not link is found by
    the alarm timers (lifecycle.link_missing_tickets).
    """

    def __init__(self, actor: str = "system:alarms", max_batch: int = 100) -> None:
        self.actor = actor
        self.max_batch = max_batch
        self._queue: deque[int] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.linked = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pantau-alarm-tickets")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def enqueue(self, alarm_id: int) -> None:
        self._queue.append(alarm_id)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            ids = [self._queue.popleft()
                   for _ in range(min(self.max_batch, len(self._queue)))]
            try:
                self.linked += len(await link_tickets(ids, self.actor))
            except Exception as exc:  # the timers' repair pass will try again
                log.warning("alarm tickets not linked yet",
                            extra={"alarms": len(ids), "err": str(exc)})
