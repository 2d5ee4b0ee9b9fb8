"""GET /api/events: the live event stream over WebSocket, with replay.

Protocol (JSON text frames, server -> client):
  {"type": "hello", "last_id": N}          after replay, live events follow
  {"type": "event", ...EventRecord}        one event, in id order, never twice
  {"type": "resync", "last_id": N}         you fell behind: reconnect with since=N (close 4000)
  {"type": "resync", "last_id": N, "reason": "replay_window", "snapshot": {...}}
                                           since= is too far back to replay: reload your
                                           state (the snapshot is it); live events after N
                                           follow on this socket, after a hello
  {"type": "signed_out"}                   the credential was revoked or expired (close 4001)
A client that reconnects with `?since=<last id it saw>` gets the gap from the
event log first, so nothing is lost across reconnects or server restarts, as long
as the gap is at most `PANTAU_REPLAY_WINDOW` events: what one client can make the
server read and send is bounded, and a client further behind (or asking for
since=0) gets the current state instead (snapshot.py). A
since= beyond the last event is a 400, before the upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import weakref
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, WSMsgType, web

from db import events as event_log
from db.events import EventRecord
from server.auth import Principal, principal_of, requires
from server.errors import bad_request, is_db_down
from server.events.hub import Subscriber
from server.events.snapshot import snapshot_for
from server.events.visibility import closed_alarms, may_see, wire_for
from server.keys import hub_key, pool_key, settings_key

log = logging.getLogger("pantau.events")
routes = web.RouteTableDef()
sockets_key: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("event_sockets")

REPLAY_PAGE = 1000
EVENT_ID = re.compile(r"[0-9]{1,19}")
RESYNC_CLOSE = 4000
SIGNED_OUT_CLOSE = 4001
# How often an open stream re-checks that its token is still good.
CREDENTIAL_CHECK_SECONDS = 5.0


@routes.get("/api/events")
@requires(kinds=("person", "wall"), cookie=True)
async def event_stream(request: web.Request) -> web.WebSocketResponse:
    principal = principal_of(request)
    since_raw = request.query.get("since")
    since: int | None = None
    hub = request.app[hub_key]
    if since_raw is not None:
        if not EVENT_ID.fullmatch(since_raw):
            raise bad_request("since must be a non-negative event id",
                              {"since": "not a number"})
        since = int(since_raw)
        # The hub may not have read the newest events yet; the log has the last word.
        if since > hub.last_id and since > (last := await event_log.last_id(
                request.app[pool_key])):
            raise bad_request(f"since={since} is beyond the last event ({last})",
                              {"since": f"at most {last}"})
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024)
    await ws.prepare(request)
    request.app[sockets_key].add(ws)
    # Subscribe before replaying, so an event committed during the replay is
    # queued rather than missed; ids already sent are skipped below.
    sub = hub.subscribe(lambda e: may_see(principal, e),
                        request.app[settings_key].subscriber_queue)
    sender = asyncio.create_task(_deliver(ws, request, sub, since, principal))
    try:
        async for msg in ws:  # only this task reads the socket
            if msg.type == WSMsgType.TEXT and msg.data == "ping":
                await ws.send_str('{"type":"pong"}')
            elif msg.type == WSMsgType.ERROR:
                break
    except ConnectionResetError:
        pass  # the client went away while we answered its ping
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender  # _deliver handles everything but its cancellation
        hub.unsubscribe(sub)
    return ws


RECENT_MAX = 100
# How far back /api/events/recent looks for events the caller may see (ids), and
# how many rows it reads at most: bounded work per call, whoever calls.
RECENT_WINDOW = 5000
RECENT_ROWS = 500
# One snapshot: every id up to `last` is committed and visible (ids are drawn at
# commit, in order), so following the stream from `last` leaves no gap.
_RECENT = f"""
WITH top AS (SELECT COALESCE(max(id), 0) AS last FROM events)
SELECT top.last, e.* FROM top LEFT JOIN LATERAL (
    SELECT {event_log.COLUMNS} FROM events
    WHERE id > top.last - $1 AND ($2::text[] IS NULL OR kind LIKE ANY ($2::text[]))
    ORDER BY id DESC LIMIT $3) e ON true
"""


@routes.get("/api/events/recent")
@requires(kinds=("person", "wall"))
async def recent_events(request: web.Request) -> web.Response:
    """The latest events the caller may see, oldest first, shaped exactly as the
    stream sends them, and the id to follow the stream from (`?since=`): a
    screen that starts now can show what happened just before it started."""
    principal = principal_of(request)
    raw = request.query.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= RECENT_MAX:
        raise bad_request(f"limit must be 1..{RECENT_MAX}", {"limit": f"1..{RECENT_MAX}"})
    prefixes = [k for k in request.query.get("kinds", "").split(",") if k]
    if len(prefixes) > 20 or not all(re.fullmatch(r"[a-z_]{1,30}\.?", k) for k in prefixes):
        raise bad_request("kinds: comma-separated kind prefixes such as ticket.,alarm.",
                          {"kinds": "invalid"})
    pool = request.app[pool_key]
    rows = await pool.fetch(_RECENT, RECENT_WINDOW, [f"{k}%" for k in prefixes] or None,
                            RECENT_ROWS)
    last = int(rows[0]["last"])
    page = [EventRecord.from_row(r) for r in reversed(rows) if r["id"] is not None]
    closed = await closed_alarms(pool, page) if principal.kind == "wall" else set()
    visible = [e for e in page if may_see(principal, e)][-int(raw):]
    items = [json.loads(wire_for(principal, e, closed)) for e in visible]
    for item in items:
        item.pop("type", None)
    return web.json_response({"items": items, "last_id": last})


_STILL_VALID = """
SELECT t.revoked_at IS NULL AND t.expires_at > now() AND COALESCE(p.active, true)
FROM auth_tokens t LEFT JOIN people p ON p.id = t.person_id WHERE t.id = $1
"""


async def _still_valid(request: web.Request, principal: Principal) -> bool:
    """A stream outlives the request that opened it: re-check its credential, so a
    revoked wall, a disabled person or an expired token stops receiving events."""
    if principal.token_id is None:
        return True
    try:
        return bool(await request.app[pool_key].fetchval(_STILL_VALID, principal.token_id))
    except Exception as exc:
        if is_db_down(exc):  # keep streaming what the hub has; check again later
            return True
        raise


async def _deliver(ws: web.WebSocketResponse, request: web.Request, sub: Subscriber,
                   since: int | None, principal: Principal) -> None:
    """Run the socket's sender. A client that went away ends it quietly; any other
    failure is logged and closes the socket with 1011, so the client reconnects
    with `since=` and loses nothing, rather than staying open and hearing nothing."""
    try:
        await _send(ws, request, sub, since, principal)
    except ConnectionResetError:
        return
    except Exception as exc:
        if is_db_down(exc):
            log.warning("event stream lost the database; closing it so the client resumes",
                        extra={"principal": principal.actor, "err": str(exc)})
        else:
            log.exception("event stream failed; closing it so the client resumes",
                          extra={"principal": principal.actor})
        with contextlib.suppress(ConnectionResetError):
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"server error")


async def _send(ws: web.WebSocketResponse, request: web.Request, sub: Subscriber,
                since: int | None, principal: Principal) -> None:
    hub = request.app[hub_key]
    pool = request.app[pool_key]
    head = hub.last_id
    if since is not None and since > head:
        # This process's hub has not read the newest events yet (it may be starting):
        # replay them from the log, or they would never reach this client.
        head = max(head, await event_log.last_id(pool))
    sent = head if since is None else since
    if since is not None and head - since > request.app[settings_key].replay_window:
        # Too far back: the current state instead of the log. Events after `head`
        # are already queued for this subscriber and follow the snapshot.
        log.info("replay beyond the window; sending a snapshot",
                 extra={"principal": principal.actor, "since": since, "last_id": head})
        await ws.send_json({"type": "resync", "last_id": head, "reason": "replay_window",
                            "snapshot": await snapshot_for(principal, pool)})
        sent = head
    elif since is not None:
        # Replay up to what the hub had published when this client subscribed;
        # the subscription holds everything after it.
        while sent < head:
            page = await event_log.since(pool, sent, min(REPLAY_PAGE, head - sent))
            if not page:
                break
            closed = await closed_alarms(pool, page) if principal.kind == "wall" else set()
            for event in page:
                if may_see(principal, event):
                    await ws.send_str(wire_for(principal, event, closed))
                sent = event.id
    await ws.send_json({"type": "hello", "last_id": sent})
    loop = asyncio.get_running_loop()
    next_check = loop.time() + CREDENTIAL_CHECK_SECONDS
    while not ws.closed:
        try:
            # Events already queued go out without a timer each (a burst).
            item = sub.queue.get_nowait() if not sub.queue.empty() else \
                await asyncio.wait_for(sub.queue.get(), max(0.0, next_check - loop.time()))
        except TimeoutError:
            next_check = loop.time() + CREDENTIAL_CHECK_SECONDS
            if not await _still_valid(request, principal):
                log.info("credential no longer valid; closing its event stream",
                         extra={"principal": principal.actor})
                await ws.send_json({"type": "signed_out"})
                await ws.close(code=SIGNED_OUT_CLOSE, message=b"signed out")
                return
            continue
        if item is None:
            if sub.overflowed:
                log.info("subscriber fell behind; asking it to resync",
                         extra={"principal": principal.actor, "last_id": sent})
                await ws.send_json({"type": "resync", "last_id": sent})
                await ws.close(code=RESYNC_CLOSE, message=b"resync")
            else:
                await ws.close(code=1001, message=b"server shutting down")
            return
        if item.id <= sent:
            continue
        await ws.send_str(wire_for(principal, item))
        sent = item.id


async def sockets_ctx(app: web.Application) -> AsyncIterator[None]:
    """The open event streams, closed when the server stops."""
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
    app[sockets_key] = sockets
    yield
    await close_sockets(app)


async def close_sockets(app: web.Application) -> None:
    """Close the event streams when shutdown starts (an on_shutdown hook): aiohttp
    waits for running handlers (up to 60 s) before cleanup_ctx runs, and a wall's
    or console's open stream would otherwise hold every restart that long."""
    sockets = app[sockets_key]
    for ws in list(sockets):
        with contextlib.suppress(ConnectionResetError):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
