"""The event hub: one LISTEN connection per server process, fanning events out to
WebSocket subscribers.

NOTIFY carries only an event id; the hub then reads every row after the last one
it delivered, so a notification that was lost (the LISTEN connection dropped
while Postgres restarted) costs nothing: the next read picks the gap up. Each
subscriber has a bounded queue; one that falls behind is cut off and told to
resync from the event log with `since=`, and never slows the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from aiohttp import web

from db import events as event_log
from db.events import EventRecord
from server.keys import hub_key, settings_key

log = logging.getLogger("pantau.hub")


@dataclass(eq=False)
class Subscriber:
    """One live consumer; `accepts` decides what it may see."""

    accepts: Callable[[EventRecord], bool]
    maxsize: int = 2000
    queue: asyncio.Queue[EventRecord | None] = field(init=False)
    overflowed: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.maxsize)

    def offer(self, event: EventRecord) -> None:
        if self.overflowed or not self.accepts(event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # Never block the hub on one slow reader: drop what it has not sent
            # and leave only the resync signal. Its handler resumes the client
            # from the last id it actually sent, so dropping loses nothing.
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class Hub:
    def __init__(self, dsn: str, *, batch: int = 1000) -> None:
        self.dsn = dsn
        self.batch = batch
        self.subscribers: set[Subscriber] = set()
        self.last_id = 0
        self.connected = False
        self.delivered = 0
        self.last_error = ""
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ready = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pantau-hub")
        self._task.add_done_callback(self._ended)
        # Wait briefly for the first connection so /healthz is truthful at once,
        # but do not refuse to start while Postgres is still coming up.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 10)

    @staticmethod
    def _ended(task: asyncio.Task[None]) -> None:
        # The loop retries what Postgres does to it; anything else is a bug that
        # stops delivery for the whole process, and must be seen at once.
        if not task.cancelled() and task.exception() is not None:
            log.error("the event hub stopped", exc_info=task.exception())

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            # Its failure, if any, was logged when it ended (_ended).
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close_conn()
        for sub in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)

    async def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        self.connected = False
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    # -- subscribers ----------------------------------------------------------

    def subscribe(self, accepts: Callable[[EventRecord], bool], maxsize: int = 2000) -> Subscriber:
        sub = Subscriber(accepts, maxsize)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def status(self) -> dict[str, Any]:
        return {"connected": self.connected, "last_event_id": self.last_id,
                "subscribers": len(self.subscribers), "delivered": self.delivered,
                **({"error": self.last_error} if self.last_error and not self.connected else {})}

    # -- the loop -------------------------------------------------------------

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    def _on_terminate(self, *_: Any) -> None:
        self.connected = False
        self._wake.set()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=5)
        conn.add_termination_listener(self._on_terminate)
        await conn.add_listener(event_log.CHANNEL, self._on_notify)
        if self.last_id == 0 and not self._ready.is_set():
            self.last_id = await event_log.last_id(conn)
        self._conn = conn
        self.connected = True
        self.last_error = ""
        self._ready.set()
        log.info("hub listening", extra={"last_event_id": self.last_id})

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            if self._conn is None or self._conn.is_closed() or not self.connected:
                await self._close_conn()
                try:
                    await self._connect()
                    backoff = 0.2
                except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                    self.last_error = str(exc) or type(exc).__name__
                    log.warning("hub cannot listen, retrying",
                                extra={"err": self.last_error, "retry_in": backoff})
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                # Catch up on whatever was committed while we were not listening.
                self._wake.set()
            try:
                await asyncio.wait_for(self._wake.wait(), 5)
            except TimeoutError:
                # Periodic poll as a backstop: costs one indexed query every 5 s.
                pass
            self._wake.clear()
            try:
                await self._drain()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.last_error = str(exc)
                self.connected = False

    async def _drain(self) -> None:
        assert self._conn is not None
        while True:
            batch = await event_log.since(self._conn, self.last_id, self.batch)
            if not batch:
                return
            for event in batch:
                self.publish(event)
            if len(batch) < self.batch:
                return

    def publish(self, event: EventRecord) -> None:
        if event.id <= self.last_id:
            return
        self.last_id = event.id
        started = time.perf_counter()
        for sub in list(self.subscribers):
            sub.offer(event)
        self.delivered += 1
        elapsed = time.perf_counter() - started
        if elapsed > 0.05:
            log.warning("slow fan-out", extra={"ms": round(elapsed * 1000, 1),
                                               "subscribers": len(self.subscribers)})


async def hub_ctx(app: web.Application) -> AsyncIterator[None]:
    """The process's hub, listening from start-up to shutdown (a cleanup_ctx)."""
    hub = Hub(app[settings_key].database_url)
    app[hub_key] = hub
    await hub.start()
    yield
    await hub.stop()
