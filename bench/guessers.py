"""Password guessers for `bench/panic.py --guessers N`: N clients, each connecting
from its own loopback address (127.0.0.2x, as from different machines), each
sending the next guess as soon as the previous one is answered, and never
waiting for Retry-After, as a brute-force tool would. Every third guesser uses
the department page's form (`/dept/login`), the others `/api/auth/login`.

They run in their own process, so their client work does not share the bench's
event loop (whose timestamps are the measurement); it still shares the machine's
two cores with the server and Postgres, as an attacker's would not.

    python bench/guessers.py BASE_URL N   # until SIGTERM/SIGINT; prints JSON counts
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

ACCOUNTS = ("operator", "supervisor", "admin", "dsdabm.staff", "expert", "police")


def address(i: int) -> str:
    return f"127.0.0.{20 + i}"


async def guesser(base: str, i: int, stop: asyncio.Event, counts: Counter[str]) -> None:
    door = "dept" if i % 3 == 2 else "api"
    connector = aiohttp.TCPConnector(local_addr=(address(i), 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        n = 0
        while not stop.is_set():
            username, password = ACCOUNTS[n % len(ACCOUNTS)], secrets.token_urlsafe(9)
            n += 1
            try:
                if door == "api":
                    request = session.post(base + "/api/auth/login",
                                           json={"username": username, "password": password})
                else:
                    request = session.post(base + "/dept/login", allow_redirects=False,
                                           data={"username": username, "password": password})
                async with request as resp:
                    await resp.read()
                    counts[f"{door} {resp.status}"] += 1
            except aiohttp.ClientError as exc:
                counts[f"{door} {type(exc).__name__}"] += 1


async def main(base: str, n: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    await asyncio.gather(*(guesser(base, i, stop, counts) for i in range(n)))
    print(json.dumps({"seconds": time.perf_counter() - started, "counts": counts}), flush=True)


@contextlib.asynccontextmanager
async def guessing(base: str, n: int) -> AsyncIterator[dict[str, object]]:
    """Run N guessers in a child process while the block runs; the dict it yields is
    filled with their counts ({"seconds", "counts": {"api 401": ...}}) afterwards."""
    result: dict[str, object] = {}
    child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), base, str(n)],
                             stdout=subprocess.PIPE, env={**os.environ})
    try:
        yield result
    finally:
        child.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(child.communicate, timeout=30)
        if out.strip():
            result.update(json.loads(out))


if __name__ == "__main__":
    import uvloop  # as fast a client as we can make, like the server's own loop

    uvloop.install()
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
