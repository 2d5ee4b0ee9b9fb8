"""Where `pantau console`, `wall-term` and `device press` find the server, and that
they say at once when nothing answers there (then keep retrying, visibly).

Run as a user runs them: subprocesses against a real server on a real port."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, base_of, start_app
from tests.test_alarms_fixtures import MakeApi, alarm_api
from tests.test_processes import free_port

__all__ = ["alarm_api"]
PANTAU = str(Path(sys.executable).parent / "pantau")


def client_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PANTAU_DATA_DIR": str(tmp_path / "data"),
           "PANTAU_CONFIG_DIR": str(tmp_path / "config"), "PANTAU_DEVICE_SECRET": "", **extra}
    for name in ("PANTAU_SERVER", "PANTAU_HOST", "DATABASE_URL"):
        if name not in extra:
            env.pop(name, None)
    return env


async def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        PANTAU, *args, cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def next_line(stream: asyncio.StreamReader, timeout: float) -> str:
    line = await asyncio.wait_for(stream.readline(), timeout)
    assert line, "the command ended without saying anything"
    return line.decode()


async def test_device_press_goes_to_the_server_pantau_port_names(
        alarm_api: MakeApi, tmp_path: Path) -> None:
    api = await alarm_api()
    port = api.base.rsplit(":", 1)[1]
    code, out, err = await run("device", "press", "demo-dago",
                               env=client_env(tmp_path, PANTAU_PORT=port))
    assert code == 0, err
    assert "raised: Siti Nurhaliza" in out
    assert f"at {api.base} (address from PANTAU_HOST/PANTAU_PORT)" in err


async def test_clients_use_the_address_the_running_pantau_up_recorded(
        alarm_api: MakeApi, tmp_path: Path) -> None:
    """`pantau up` records where it listens in the data directory; that beats a
    PANTAU_PORT that names something else."""
    api = await alarm_api()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "server.json").write_text(
        json.dumps({"url": api.base, "pid": os.getpid()}))
    env = client_env(tmp_path, PANTAU_PORT=str(free_port()))
    code, _, err = await run("device", "press", "demo-braga", env=env)
    assert code == 0, err
    assert f"at {api.base} (address from the running `pantau up`)" in err
    # ... but not the address of a `pantau up` that is gone
    (tmp_path / "data" / "server.json").write_text(
        json.dumps({"url": api.base, "pid": 2 ** 22 + 1}))
    code, _, err = await run("device", "heartbeat", "demo-braga", env={
        **env, "PANTAU_PORT": api.base.rsplit(":", 1)[1]})
    assert code == 0, err


async def test_device_press_with_no_server_says_so_within_a_second(tmp_path: Path) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        PANTAU, "device", "press", "demo-dago", cwd=PROJECT_ROOT,
        env=client_env(tmp_path, PANTAU_PORT=str(port)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    try:
        first = await next_line(proc.stderr, 30)  # the interpreter's start-up
        started = time.monotonic()
        assert f"pressing demo-dago at http://127.0.0.1:{port}" in first
        failed = await next_line(proc.stderr, 1.0)
        assert time.monotonic() - started < 1.0
        assert "connection refused" in failed and "retrying" in failed
        again = await next_line(proc.stderr, 5.0)  # and it keeps trying, visibly
        assert "attempt 2" in again
    finally:
        proc.send_signal(signal.SIGINT)
        await proc.wait()


@pytest.mark.parametrize("command", ["console", "wall-term"])
async def test_console_and_wall_term_wait_visibly_for_the_server_pantau_port_names(
        command: str, db_url: str, tmp_path: Path) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        PANTAU, command, cwd=PROJECT_ROOT, env=client_env(tmp_path, PANTAU_PORT=str(port)),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    srv = None
    try:
        first = await next_line(proc.stderr, 30)
        assert f"nothing answers at http://127.0.0.1:{port}" in first
        assert "PANTAU_HOST/PANTAU_PORT" in first and "retrying" in first.lower()
        assert "still nothing" in await next_line(proc.stderr, 5)
        srv = await start_app(db_url, port=port)
        assert "answers now" in await next_line(proc.stderr, 5)
        if command == "wall-term":  # it reached the server: it asks for a sign-in there
            assert f"Sign in to {base_of(srv)}" in await next_line(proc.stderr, 10)
    finally:
        proc.kill()
        await proc.wait()
        if srv is not None:
            await srv.close()
