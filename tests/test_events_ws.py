"""/api/events: live delivery, replay with since=, visibility per role, slow clients."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import pytest
from tortoise.transactions import in_transaction

from db import events
from tests.conftest import Api, next_event


async def _append(kind: str, department_id: int | None = None, **payload: object) -> int:
    """Append one event and return the id it got when its transaction committed."""
    import uuid

    marker = uuid.uuid4().hex
    async with in_transaction() as tx:
        await events.append(tx, kind, "test", marker, "person:test", dict(payload),
                            department_id=department_id)
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            "SELECT id FROM events WHERE subject_type = 'test' AND subject_id = $1", [marker])
    return int(rows[0]["id"])


async def test_live_event_reaches_an_operator(api: Api, orm: str) -> None:
    token = await api.login("operator")
    ws = await api.ws(token=token)
    assert (await ws.receive_json())["type"] == "hello"
    eid = await _append("test.created", reference="X-1")
    msg = await next_event(ws, "test.created")
    assert msg["id"] == eid and msg["payload"] == {"reference": "X-1"}
    await ws.close()


async def test_reconnect_with_since_replays_the_gap_in_order(api: Api, orm: str) -> None:
    token = await api.login("operator")
    ws = await api.ws(token=token)
    hello = await ws.receive_json()
    last = hello["last_id"]
    await ws.close()
    ids = [await _append("test.noted", n=i) for i in range(5)]
    ws = await api.ws(token=token, since=last)
    got = [(await next_event(ws, "test.noted"))["id"] for _ in ids]
    assert got == ids
    # background work (SLA and alarm schedulers) may add events of its own: the
    # replay ends with a hello at or after our last event, never before it
    while (msg := await ws.receive_json())["type"] != "hello":
        pass
    assert msg["last_id"] >= ids[-1]
    live = await _append("test.noted", n=99)
    assert (await next_event(ws, "test.noted"))["id"] == live
    await ws.close()


async def test_department_staff_see_only_their_department(api: Api, orm: str, db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    mine = await conn.fetchval("SELECT id FROM departments WHERE code = 'dsdabm'")
    other = await conn.fetchval("SELECT id FROM departments WHERE code = 'dishub'")
    await conn.close()
    ws = await api.ws(token=await api.login("dsdabm.staff"))
    await ws.receive_json()
    await _append("test.routed", department_id=other)
    await _append("test.alarm")
    visible = await _append("test.routed", department_id=mine)
    # the first test event this subscriber gets is its own department's
    while not (msg := await next_event(ws))["kind"].startswith("test."):
        assert msg["department_id"] == mine
    assert msg["id"] == visible
    await ws.close()


async def test_bad_since_is_a_400(api: Api) -> None:
    token = await api.login("operator")
    status, body = await api.get("/api/events?since=abc", token=token)
    assert status == 400 and body["fields"] == {"since": "not a number"}


async def test_events_need_a_credential(api: Api) -> None:
    try:
        await api.ws()
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 401
    else:
        raise AssertionError("unauthenticated websocket was accepted")


async def test_slow_subscriber_is_cut_off_and_never_slows_the_others(
        api: Api, orm: str, server: object) -> None:
    """A client that stops reading (a frozen kiosk) overflows its bounded queue and
    is cut off, while a healthy client still receives every event."""
    import base64
    import os

    from server.keys import hub_key, settings_key

    app = server.app  # type: ignore[attr-defined]
    app[settings_key].subscriber_queue = 50
    hub = app[hub_key]
    token = await api.login("operator")
    # The stalled client: a raw socket that completes the handshake and never reads.
    host, port = api.base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
                  ).encode())
    await writer.drain()
    assert b"101" in await reader.readline()
    fast = await api.ws(token=token)
    await fast.receive_json()
    assert len(hub.subscribers) == 2
    # Big events, so the stalled socket's kernel buffers fill and the server feels it.
    blob = "x" * 64_000
    async def read_fast() -> list[int]:
        return [(await next_event(fast, "test.burst", timeout=10))["id"] for _ in range(300)]

    reading = asyncio.create_task(read_fast())
    ids = [await _append("test.burst", n=i, blob=blob) for i in range(300)]
    assert await reading == ids
    stalled = [s for s in hub.subscribers if s.overflowed]
    assert len(stalled) == 1 and stalled[0].queue.qsize() <= 50
    writer.close()
    await fast.close()


async def test_overflowed_subscriber_is_told_to_resync_and_loses_nothing(orm: str) -> None:
    from server.events.hub import Hub

    hub = Hub(orm)
    await hub.start()
    try:
        start = hub.last_id
        sub = hub.subscribe(lambda e: True, maxsize=5)
        ids = [await _append("test.burst", n=i) for i in range(20)]
        for _ in range(100):
            if hub.last_id >= ids[-1]:
                break
            await asyncio.sleep(0.02)
        assert sub.overflowed
        queued = []
        while not sub.queue.empty():
            queued.append(sub.queue.get_nowait())
        assert queued == [None]  # nothing but the resync signal is kept
        # the client resyncs from the last id it was sent: the log has the rest
        conn = await asyncpg.connect(orm)
        rest = await events.since(conn, start)
        await conn.close()
        assert [e.id for e in rest] == ids
    finally:
        await hub.stop()


async def test_a_revoked_credential_stops_its_open_stream(api: Api, orm: str,
                                                           db_url: str) -> None:
    """Revoking a wall (or signing a person out) also ends streams opened before."""
    from server.events import routes as event_routes

    event_routes.CREDENTIAL_CHECK_SECONDS = 0.2
    try:
        token = await api.login("operator")
        ws = await api.ws(token=token)
        await ws.receive_json()
        assert (await api.post("/api/auth/logout", token=token))[0] == 200
        frames = []
        while True:
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frames.append(msg.json())
        assert frames[-1] == {"type": "signed_out"} and ws.close_code == 4001
    finally:
        event_routes.CREDENTIAL_CHECK_SECONDS = 5.0


async def test_walls_get_shift_and_ticket_events_without_names(api: Api, orm: str,
                                                               db_url: str) -> None:
    from datetime import timedelta

    from server.auth import issue_wall_token

    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1)
    monitor_id = await pool.fetchval("SELECT id FROM monitors WHERE code = 'main'")
    token, _ = await issue_wall_token(pool, monitor_id, timedelta(hours=1))
    await pool.close()
    ws = await api.ws(token=token)
    await ws.receive_json()
    await _append("shift.checked_in", shift="pagi 2026-11-28", person="cc.pagi.01",
                  role="call_center")
    await _append("ticket.created", reference="BDG-1", reporter_name="Asep", priority=2)
    shift = await next_event(ws, "shift.checked_in")
    ticket = await next_event(ws, "ticket.created")
    assert shift["payload"] == {"shift": "pagi 2026-11-28", "role": "call_center"}
    assert ticket["payload"] == {"reference": "BDG-1", "priority": 2}
    assert shift["actor"] == "" and ticket["actor"] == ""
    await ws.close()


async def test_a_failing_stream_is_logged_and_closed_so_the_client_resumes(
        api: Api, orm: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A fault while sending is no disconnect: it is logged with its traceback and
    the socket closes with 1011, so the client reconnects with since= instead of
    staying open and hearing nothing."""
    from server.events import routes as event_routes

    def broken(*_: object) -> str:
        raise RuntimeError("shaping the event failed")

    token = await api.login("operator")
    ws = await api.ws(token=token)
    hello = await ws.receive_json()
    monkeypatch.setattr(event_routes, "wire_for", broken)
    await _append("test.noted", n=1)
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1011
    failed = [r for r in caplog.records if r.getMessage().startswith("event stream failed")]
    assert failed and failed[0].exc_info is not None
    assert "shaping the event failed" in str(failed[0].exc_info[1])
    monkeypatch.undo()
    ws = await api.ws(token=token, since=hello["last_id"])
    assert (await next_event(ws, "test.noted"))["payload"] == {"n": 1}
    await ws.close()
