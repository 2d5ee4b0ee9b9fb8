"""The local `pantau up`: one per data directory, and where its clients find it.

`pantau up` holds an exclusive lock on `up.lock` in the data directory for as
long as it runs (flock: the kernel drops it when the process dies, however it
dies), so a second `pantau up` on the same data directory refuses at once
instead of sharing, and then stopping, the first one's private Postgres. Once
listening it records its address in `server.json` there; `pantau console`,
`wall-term` and `device press` read it, so they find the server without being
told its port.

The clients' server, in order: `--server` / PANTAU_SERVER; else the address the
running `pantau up` of this data directory recorded; else PANTAU_HOST and
PANTAU_PORT (what `pantau up` and `pantau serve` would listen on), 127.0.0.1:8080
when unset.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from server.settings import Settings

LOCK_FILE = "up.lock"
ADDRESS_FILE = "server.json"


class AlreadyRunning(Exception):
    """Another `pantau up` holds the data directory; the message says which."""


@contextlib.contextmanager
def up_lock(base: Path) -> Iterator[None]:
    """Hold the data directory for this `pantau up`, or raise AlreadyRunning."""
    base.mkdir(parents=True, exist_ok=True)
    fd = os.open(base / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(_holder_text(base, fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            (base / ADDRESS_FILE).unlink(missing_ok=True)
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _holder_text(base: Path, fd: int) -> str:
    pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
    where = recorded_address(base)
    who = f"pid {pid}" if pid.isdigit() else "another process"
    at = f", serving {where}" if where else ""
    return (f"another `pantau up` is already running on {base} ({who}{at}); "
            "use that one, stop it first, or set PANTAU_DATA_DIR to another directory")


def record_address(base: Path, url: str) -> None:
    """Say where this `pantau up` listens (atomic write; removed when it stops)."""
    tmp = base / (ADDRESS_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "pid": os.getpid()}, fh)
    os.replace(tmp, base / ADDRESS_FILE)


def recorded_address(base: Path) -> str | None:
    """The address a live `pantau up` recorded in `base`, if any."""
    try:
        data = json.loads((base / ADDRESS_FILE).read_text())
        url, pid = str(data["url"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # left behind by a killed run
    except PermissionError:
        pass  # alive, someone else's (root's pantau up seen by a user)
    return url


@dataclass(frozen=True)
class ServerChoice:
    url: str
    source: str  # said to the user: where the address came from


def resolve_server(settings: Settings) -> ServerChoice:
    """Where a client command goes: the settings' `server` (--server or
    PANTAU_SERVER), else the address the running `pantau up` of the data
    directory recorded, else PANTAU_HOST/PANTAU_PORT (127.0.0.1:8080 unset)."""
    if settings.server:
        return ServerChoice(settings.server, "--server / PANTAU_SERVER")
    recorded = recorded_address(settings.data_dir)
    if recorded:
        return ServerChoice(recorded, "the running `pantau up`")
    host = settings.host.strip() or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    host_part = f"[{host}]" if ":" in host else host
    url = f"http://{host_part}:{settings.port}"
    if "port" in settings.from_environment():
        return ServerChoice(url, "PANTAU_HOST/PANTAU_PORT")
    return ServerChoice(url, "the default")


def server_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--server for a client command; None means: resolve_server() decides."""
    return click.option(
        "--server", "server_url", metavar="URL", default=None,
        help="Server URL (env PANTAU_SERVER). Default: the running `pantau up` of "
             "PANTAU_DATA_DIR, else http://PANTAU_HOST:PANTAU_PORT (127.0.0.1:8080).")(f)


def probe(url: str, timeout: float = 1.0) -> str | None:
    """None when something answers HTTP at `url`, else why not (one short phrase)."""
    # No proxy: the address is the server itself, usually on loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url.rstrip("/") + "/healthz", timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # it answered (e.g. 503 while its database is away)
    except urllib.error.URLError as exc:
        reason = exc.reason
        return str(getattr(reason, "strerror", None) or reason)
    except (OSError, ValueError) as exc:
        return str(exc) or type(exc).__name__


def wait_for_server(choice: ServerChoice, echo: Callable[[str], None],
                    every: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
    """Return once the server answers; until then say so at once, and on every retry."""
    problem = probe(choice.url)
    if problem is None:
        return
    started = clock()
    echo(f"pantau: nothing answers at {choice.url} ({problem}; address from {choice.source}). "
         "Is `pantau up` running? Retrying every "
         f"{every:g} s, Ctrl-C to stop.")
    while True:
        time.sleep(every)
        problem = probe(choice.url)
        if problem is None:
            echo(f"pantau: {choice.url} answers now.")
            return
        echo(f"pantau: still nothing at {choice.url} after {clock() - started:.0f} s "
             f"({problem}); retrying.")
