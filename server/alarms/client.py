"""A panic-button device in software: signs requests and retries until acknowledged.

Used by `pantau device press`, the tests and bench/panic.py, so all three behave
exactly like a field unit: one Idempotency-Key per press, a fresh timestamp and
signature on every attempt, exponential backoff with jitter on timeouts,
connection errors and 5xx (the server answers 503 while Postgres is away), and no
retry on a 4xx, which retrying cannot fix.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from server.alarms.signing import IDEMPOTENCY_HEADER, signed_headers


class DeviceRefused(Exception):
    """The server refused the request (4xx); retrying would not help."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"server refused with {status}: {body}")
        self.status = status
        self.body = body


class GaveUp(Exception):
    """No acknowledgement within the deadline."""


@dataclass
class PressResult:
    status: int
    body: dict[str, Any]
    attempts: int
    idempotency_key: str
    started: float  # time.perf_counter() when the press began
    finished: float
    statuses: list[int | str] = field(default_factory=list)  # every attempt's outcome

    @property
    def alarm_id(self) -> int:
        return int(self.body["alarm"]["id"])


@dataclass
class DeviceClient:
    base_url: str
    code: str
    secret: str
    session: aiohttp.ClientSession
    timeout_s: float = 5.0
    first_backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    # Told about every failed attempt that will be retried: (attempt number,
    # what happened, seconds until the next one), so a person pressing sees it.
    on_retry: Callable[[int, str, float], None] | None = None

    async def send(self, method: str, path: str, payload: dict[str, Any] | None = None,
                   extra_headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """One signed request; returns (status, parsed body)."""
        body = json.dumps(payload or {}).encode()
        extra = dict(extra_headers or {})
        key = extra.pop(IDEMPOTENCY_HEADER, "")
        headers = {**signed_headers(self.code, self.secret, method, path, body, key=key),
                   **extra}
        async with self.session.request(
                method, self.base_url + path, data=body, headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def _until_acknowledged(self, method: str, path: str, payload: dict[str, Any],
                                  headers: dict[str, str], deadline_s: float,
                                  key: str) -> PressResult:
        started = time.perf_counter()
        backoff = self.first_backoff_s
        outcomes: list[int | str] = []
        while True:
            try:
                status, body = await self.send(method, path, payload, headers)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, body = 0, _why(exc, self.timeout_s)
                outcomes.append(type(exc).__name__)
            else:
                outcomes.append(status)
                if 200 <= status < 300:
                    return PressResult(status, body, len(outcomes), key, started,
                                       time.perf_counter(), outcomes)
                if 400 <= status < 500:
                    raise DeviceRefused(status, body)
            if time.perf_counter() - started + backoff > deadline_s:
                raise GaveUp(f"no acknowledgement after {len(outcomes)} attempt(s); "
                             f"last: {status or body}")
            delay = backoff * random.uniform(0.5, 1.0)
            if self.on_retry is not None:
                self.on_retry(len(outcomes), str(status or body), delay)
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, self.max_backoff_s)

    async def press(self, *, lat: float | None = None, lon: float | None = None,
                    key: str | None = None, deadline_s: float = 120.0) -> PressResult:
        """Raise an alarm and keep trying (same key) until the server confirms it."""
        key = key or uuid.uuid4().hex
        payload: dict[str, Any] = {}
        if lat is not None and lon is not None:
            payload = {"lat": lat, "lon": lon}
        return await self._until_acknowledged("POST", "/api/alarms", payload,
                                              {IDEMPOTENCY_HEADER: key}, deadline_s, key)

    async def heartbeat(self, *, deadline_s: float = 30.0) -> PressResult:
        return await self._until_acknowledged("POST", "/api/devices/heartbeat", {}, {},
                                              deadline_s, "")


def _why(exc: BaseException, timeout_s: float) -> str:
    """A failed attempt in a few words: "connection refused", "no answer in 5 s"."""
    if isinstance(exc, TimeoutError):
        return f"no answer in {timeout_s:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError) and exc.os_error.errno:
        return os.strerror(exc.os_error.errno).lower()
    return str(exc) or type(exc).__name__
