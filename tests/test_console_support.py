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

from tests.conftest import base_of, start_app


async def start_server(db_url: str, port: int = 0) -> TestServer:
    """The real application on 127.0.0.1:port (0 = any free port)."""
    return await start_app(db_url, port=port)


base_url = base_of


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
