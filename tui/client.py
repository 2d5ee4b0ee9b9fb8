"""The console's only way to the world: the server's HTTP API and event stream.

The console never talks to Postgres; everything goes through here, so it works
from any machine that can reach the server. Failures become `ApiError` (with the
server's error code and message) or `ServerUnreachable`, never a bare aiohttp
exception, so screens can show one clear line and carry on.
"""

from __future__ import annotations

import asyncio
import enum
import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)


class ApiError(Exception):
    """The server answered with an error (4xx/5xx)."""

    def __init__(self, status: int, error: str, message: str,
                 fields: dict[str, Any] | None = None) -> None:
        super().__init__(message or error)
        self.status = status
        self.error = error
        self.message = message or error
        self.fields = fields or {}

    @property
    def detail(self) -> str:
        """The message with each refused field's reason, for a one-line notification."""
        if not self.fields:
            return self.message
        return f"{self.message} ({'; '.join(f'{k}: {v}' for k, v in self.fields.items())})"

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def not_available(self) -> bool:
        """404 on a collection: that part of the server is not deployed (yet)."""
        return self.status == 404


class ServerUnreachable(ApiError):
    """No answer at all: the server is down, restarting, or the network is."""

    def __init__(self, detail: str) -> None:
        super().__init__(0, "unreachable", detail)


class ApiClient:
    """A thin JSON client; one aiohttp session for the life of the console."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=REQUEST_TIMEOUT)
        return self._session

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, *, json_body: Any = None,
                      params: dict[str, Any] | None = None) -> Any:
        clean = {k: str(v) for k, v in (params or {}).items() if v not in (None, "")}
        try:
            async with self.session.request(method, self.base_url + path, json=json_body,
                                            params=clean or None,
                                            headers=self.headers()) as resp:
                if resp.content_type == "application/json":
                    body: Any = await resp.json()
                elif resp.content_type.startswith("image/"):
                    body = await resp.read()
                else:
                    body = await resp.text()
                if resp.status >= 400:
                    raise _error_from(resp.status, body)
                return body
        except (TimeoutError, aiohttp.ClientConnectionError, OSError) as exc:
            raise ServerUnreachable(str(exc) or type(exc).__name__) from None

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.request("POST", path, json_body=body if body is not None else {})

    async def put(self, path: str, body: Any) -> Any:
        return await self.request("PUT", path, json_body=body)

    async def patch(self, path: str, body: Any) -> Any:
        return await self.request("PATCH", path, json_body=body)

    # -- auth ---------------------------------------------------------------------------
    async def login(self, username: str, password: str) -> dict[str, Any]:
        body = await self.post("/api/auth/login", {"username": username, "password": password})
        self.token = body["token"]
        return dict(body)

    async def me(self) -> dict[str, Any]:
        return dict(await self.get("/api/me"))

    # -- tickets ------------------------------------------------------------------------
    async def tickets(self, **filters: Any) -> dict[str, Any]:
        return dict(await self.get("/api/tickets", **filters))

    async def open_ticket_pages(self, page: int = 200, cap: int = 20_000) -> AsyncIterator[
            tuple[list[dict[str, Any]], int]]:
        """The open queue, most urgent first, page by page (keyset) up to `cap` tickets.

        Yields (items, server total) per page, so the first screenful shows while
        the rest is still on its way.
        """
        cursor: str | None = None
        seen = 0
        while True:
            body = await self.tickets(limit=page, cursor=cursor)
            seen += len(body["items"])
            yield body["items"], int(body.get("total", seen))
            cursor = body.get("next_cursor")
            if not cursor or seen >= cap:
                return

    async def ticket(self, ticket_id: int) -> dict[str, Any]:
        return dict(await self.get(f"/api/tickets/{ticket_id}"))

    async def ticket_action(self, ticket_id: int, action: str,
                            body: dict[str, Any]) -> dict[str, Any]:
        """POST /api/tickets/{id}/{action}; returns the ticket after the change."""
        result = await self.post(f"/api/tickets/{ticket_id}/{action}", body)
        return dict(result.get("ticket", result)) if isinstance(result, dict) else {}


def _error_from(status: int, body: Any) -> ApiError:
    if isinstance(body, dict):
        return ApiError(status, str(body.get("error", status)), str(body.get("message", "")),
                        body.get("fields") or {})
    return ApiError(status, str(status), str(body)[:200])


class StreamState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    RETRYING = "retrying"
    SIGNED_OUT = "signed_out"


@dataclass
class StreamStatus:
    state: StreamState
    last_id: int | None = None
    retry_in: float = 0.0
    detail: str = ""


class EventStream:
    """Follows GET /api/events forever: reconnects with backoff, resumes from the last id.

    `on_event` gets every event frame exactly once and in order (the server replays
    the gap after `since`); `on_status` gets every state change, so the console can
    say "disconnected, retrying in 3 s" instead of freezing. When the gap is too
    long to replay the server sends a snapshot instead, and `on_resync` must reload.
    """

    def __init__(self, client: ApiClient, on_event: Callable[[dict[str, Any]], None],
                 on_status: Callable[[StreamStatus], None], *, since: int | None = None,
                 on_resync: Callable[[dict[str, Any]], None] | None = None,
                 min_backoff: float = 0.25, max_backoff: float = 5.0) -> None:
        self.client = client
        self.on_event = on_event
        self.on_status = on_status
        # Called with the frame when the server skipped events (we were too far
        # behind to replay): whatever was built from events must be read again.
        self.on_resync = on_resync
        self.last_id = since
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.connected_once = asyncio.Event()

    async def run(self) -> None:
        backoff = self.min_backoff
        while True:
            self.on_status(StreamStatus(StreamState.CONNECTING, self.last_id))
            try:
                got_hello = await self._follow_once()
            except _SignedOut as exc:
                self.on_status(StreamStatus(StreamState.SIGNED_OUT, self.last_id,
                                            detail=str(exc)))
                return
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                detail = str(exc) or type(exc).__name__
            else:
                detail = "connection closed"
            if got_hello:
                backoff = self.min_backoff
            delay = backoff * (1 + random.random() / 4)
            self.on_status(StreamStatus(StreamState.RETRYING, self.last_id, delay, detail))
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, self.max_backoff)

    async def _follow_once(self) -> bool:
        params = {} if self.last_id is None else {"since": str(self.last_id)}
        got_hello = False
        try:
            ws = await self.client.session.ws_connect(
                self.client.base_url + "/api/events", params=params,
                headers=self.client.headers(), heartbeat=10, timeout=aiohttp.ClientWSTimeout(
                    ws_receive=None, ws_close=2))
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise _SignedOut(exc.message) from None
            raise
        async with ws:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                frame = json.loads(msg.data)
                kind = frame.get("type")
                if kind == "event":
                    self.last_id = int(frame["id"])
                    self.on_event(frame)
                elif kind == "hello":
                    got_hello = True
                    if self.last_id is None:
                        self.last_id = int(frame["last_id"])
                    self.connected_once.set()
                    self.on_status(StreamStatus(StreamState.LIVE, self.last_id))
                elif kind == "resync":
                    self.last_id = int(frame["last_id"])
                    if "snapshot" not in frame:
                        break  # fell behind live: reconnect, the server replays the gap
                    # Too far behind to replay: the stream goes on from last_id.
                    if self.on_resync is not None:
                        self.on_resync(frame)
        return got_hello


class _SignedOut(Exception):
    """The server refused the credential (401/403): retrying cannot help."""
