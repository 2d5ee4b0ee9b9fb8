"""Helpers shared by the console tests (no tests here): a restartable server, waiting.

The console tests drive the real Textual app against a real server and Postgres;
only the snapshot tests feed fixed data, because a live clock and live data
cannot give a steady picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestServer

from server.settings import Settings


async def start_server(db_url: str, port: int = 0) -> TestServer:
    """The real application on 127.0.0.1:port (0 = any free port)."""
    from server.app import create_app

    app = create_app(Settings(database_url=db_url, log_format="text", start_streams=False))
    srv = TestServer(app, host="127.0.0.1", port=port)
    await srv.start_server()
    return srv


def base_url(srv: TestServer) -> str:
    return str(srv.make_url("")).rstrip("/")


async def wait_for(predicate: Callable[[], Any], timeout: float = 10.0,
                   step: float = 0.05, pilot: Any = None) -> Any:
    """Poll until `predicate()` is truthy; fail with the last value after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        if pilot is not None:
            await pilot.pause(step)
        else:
            await asyncio.sleep(step)
