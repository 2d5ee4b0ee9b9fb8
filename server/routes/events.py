"""GET /api/events: the live event stream over WebSocket, with replay.

Protocol (JSON text frames, server -> client):
  {"type": "hello", "last_id": N}          after replay, live events follow
  {"type": "event", ...EventRecord}        one event, in id order, never twice
  {"type": "resync", "last_id": N}         you fell behind: reconnect with since=N
A client that reconnects with `?since=<last id it saw>` gets the gap from the
event log first, so nothing is lost across reconnects or server restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

from aiohttp import WSMsgType, web

from db import events as event_log
from server.auth import principal_of, requires
from server.errors import bad_request
from server.keys import hub_key, pool_key, settings_key
from server.visibility import may_see, shape_for

log = logging.getLogger("pantau.events")
routes = web.RouteTableDef()
sockets_key: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("event_sockets")

REPLAY_PAGE = 1000
RESYNC_CLOSE = 4000


@routes.get("/api/events")
@requires(kinds=("person", "wall"))
async def event_stream(request: web.Request) -> web.WebSocketResponse:
    principal = principal_of(request)
    since_raw = request.query.get("since")
    since: int | None = None
    if since_raw is not None:
        if not since_raw.isdigit():
            raise bad_request("since must be a non-negative event id",
                              {"since": "not a number"})
        since = int(since_raw)
    hub = request.app[hub_key]
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024)
    await ws.prepare(request)
    request.app[sockets_key].add(ws)
    # Subscribe before replaying, so an event committed during the replay is
    # queued rather than missed; ids already sent are skipped below.
    sub = hub.subscribe(lambda e: may_see(principal, e),
                        request.app[settings_key].subscriber_queue)
    sender = asyncio.create_task(_send(ws, request, sub, since, principal))
    try:
        async for msg in ws:  # only this task reads the socket
            if msg.type == WSMsgType.TEXT and msg.data == "ping":
                await ws.send_str('{"type":"pong"}')
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        hub.unsubscribe(sub)
    return ws


async def _send(ws: web.WebSocketResponse, request: web.Request, sub, since: int | None,
                principal) -> None:  # type: ignore[no-untyped-def]
    hub = request.app[hub_key]
    sent = hub.last_id if since is None else since
    if since is not None:
        pool = request.app[pool_key]
        while True:
            page = await event_log.since(pool, sent, REPLAY_PAGE)
            for event in page:
                if may_see(principal, event):
                    await ws.send_json({"type": "event", **shape_for(principal, event)})
                sent = event.id
            if len(page) < REPLAY_PAGE:
                break
    await ws.send_json({"type": "hello", "last_id": sent})
    while not ws.closed:
        event = await sub.queue.get()
        if event is None:
            if sub.overflowed:
                log.info("subscriber fell behind; asking it to resync",
                         extra={"principal": principal.actor, "last_id": sent})
                await ws.send_json({"type": "resync", "last_id": sent})
                await ws.close(code=RESYNC_CLOSE, message=b"resync")
            else:
                await ws.close(code=1001, message=b"server shutting down")
            return
        if event.id <= sent:
            continue
        await ws.send_json({"type": "event", **shape_for(principal, event)})
        sent = event.id
