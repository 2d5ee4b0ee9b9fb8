"""What the benchmarks share: a database to run on and percentile maths."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp

from db.embedded import EmbeddedPostgres


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """DATABASE_URL if set, else a throw-away private cluster (removed afterwards)."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    base = Path(tempfile.mkdtemp(prefix="pantau-bench-"))
    os.chmod(base, 0o711)
    cluster = EmbeddedPostgres(base / "data")
    try:
        yield cluster.start()
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float]) -> str:
    return (f"p50 {pct(values, 50):7.3f} ms   p99 {pct(values, 99):7.3f} ms   "
            f"mean {statistics.fmean(values):7.3f} ms   n={len(values)}")


def demo_city(url: str, label: str) -> dict[str, str]:
    """Seed the demo city (no tickets) with the real CLI; returns the environment
    for `pantau serve` on `url` (SLA scans off, so they do not skew timings)."""
    env = {**os.environ, "DATABASE_URL": url, "PANTAU_LOG_FORMAT": "json",
           "PANTAU_SLA_SCAN_SECONDS": "0"}
    pantau = str(Path(sys.executable).parent / "pantau")
    print(f"{label} bench: seeding the demo city ...", flush=True)
    subprocess.run([pantau, "seed", "demo", "--tickets", "0"], env=env, check=True,
                   capture_output=True)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(base + "/healthz") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise SystemExit("server did not come up")


@contextlib.asynccontextmanager
async def pantau_serve(env: dict[str, str]) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real `pantau serve` process on a free port, as production runs it; yields
    (base URL, process) once it is healthy and stops it with SIGINT afterwards."""
    port = free_port()
    # PANTAU_BENCH_WRAP runs the server under a profiler, e.g. "py-spy record -o s.svg --".
    wrap = shlex.split(os.environ.get("PANTAU_BENCH_WRAP", ""))
    server = subprocess.Popen([*wrap, str(Path(sys.executable).parent / "pantau"), "serve",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_up(base)
        yield base, server
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(15)
