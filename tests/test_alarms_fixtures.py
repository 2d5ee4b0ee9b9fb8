"""Shared helpers for the alarm and device tests (this module holds no tests).

The alarm tests need the real server with sub-second timings, so they start their
own app with an AlarmConfig instead of the suite-wide `server` fixture.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.alarms.client import DeviceClient
from server.alarms.config import AlarmConfig, alarm_config_key
from tests.conftest import Api, start_app


def fast_config(**overrides: Any) -> AlarmConfig:
    """Timings short enough for tests; escalation far away unless a test asks."""
    values: dict[str, Any] = {"escalate_after_s": 600.0, "escalate_step_s": 600.0,
                              "offline_after_s": 600.0, "clock_window_s": 30.0,
                              "tick_s": 0.1, "send_retry_s": 0.1}
    values.update(overrides)
    return AlarmConfig(**values)


@asynccontextmanager
async def running_server(db_url: str, cfg: AlarmConfig) -> AsyncIterator[TestServer]:
    def configure(app: web.Application) -> None:
        app[alarm_config_key] = cfg

    srv = await start_app(db_url, prepare=configure)
    try:
        yield srv
    finally:
        await srv.close()


@asynccontextmanager
async def client_for(srv: TestServer) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(str(srv.make_url("")).rstrip("/"), session)


MakeApi = Callable[..., Awaitable[Api]]
# The app behind each Api that alarm_api made, by its base URL.
_APPS: dict[str, web.Application] = {}


def app_of(api: Api) -> web.Application:
    """The running application an `alarm_api()` client talks to (to change its
    settings as a restart with other settings would)."""
    return _APPS[api.base]


@pytest.fixture
async def alarm_api(db_url: str) -> AsyncIterator[MakeApi]:
    """`await alarm_api(**config)`: the real server with these alarm timings."""
    stack: list[Any] = []

    async def make(**overrides: Any) -> Api:
        srv_cm = running_server(db_url, fast_config(**overrides))
        srv = await srv_cm.__aenter__()
        api_cm = client_for(srv)
        api = await api_cm.__aenter__()
        _APPS[api.base] = srv.app
        stack.extend([srv_cm, api_cm])
        return api

    yield make
    for cm in reversed(stack):
        await cm.__aexit__(None, None, None)
    _APPS.clear()


async def enrol(api: Api, code: str, *, contacts: list[dict[str, str]] | None = None,
                lat: float = -6.9175, lon: float = 107.6093, token: str | None = None
                ) -> tuple[dict[str, Any], str]:
    """Enrol a device as the supervisor; returns (device, secret)."""
    token = token or await api.login("supervisor")
    status, body = await api.post("/api/devices", {
        "code": code, "owner_name": f"Ibu {code.title()}", "owner_kind": "citizen",
        "address": "Jl. Braga No. 10, Bandung", "district": "sumur-bandung",
        "lat": lat, "lon": lon, "contacts": contacts or []}, token=token)
    assert status == 201, body
    return body["device"], body["secret"]


def device(api: Api, code: str, secret: str, **kw: Any) -> DeviceClient:
    return DeviceClient(api.base, code, secret, api.session, **kw)


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 10.0,
                   every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


async def fetch(db_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()
