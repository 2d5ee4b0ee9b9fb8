"""`pantau serve` (production, as in the Procfile) and `pantau up` (everything, locally)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import click
from aiohttp import web

from db import migrate
from server.cli.common import CONTEXT_SETTINGS, database, database_url_option, fail, run_async
from server.logs import AccessLog, setup_logging
from server.settings import Settings

log = logging.getLogger("pantau.cli")


def _server_options(f: Callable[..., object]) -> Callable[..., object]:
    f = click.option("--port", envvar="PANTAU_PORT", default=8080, show_default=True,
                     type=click.IntRange(0, 65535), help="TCP port (env PANTAU_PORT).")(f)
    f = click.option("--host", envvar="PANTAU_HOST", default="127.0.0.1", show_default=True,
                     help="Address to listen on (env PANTAU_HOST).")(f)
    return database_url_option(f)


async def serve_until_stopped(settings: Settings,
                              on_ready: Callable[[int], Awaitable[None] | None] | None = None,
                              ) -> None:
    """Run the app until SIGINT/SIGTERM, then shut down every resource in order."""
    from server.app import create_app

    app = create_app(settings)
    runner = web.AppRunner(app, access_log_class=AccessLog)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    port = runner.addresses[0][1] if runner.addresses else settings.port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("listening", extra={"host": settings.host, "port": port})
    if on_ready is not None:
        result = on_ready(port)
        if asyncio.iscoroutine(result):
            await result
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        log.info("shutting down")
        await runner.cleanup()


def run_server(main: Coroutine[Any, Any, None]) -> None:
    """Run the server on uvloop: its event loop and socket transports cost about
    half of asyncio's per request, and asyncpg is built for it."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


@click.command("serve", context_settings=CONTEXT_SETTINGS)
@_server_options
def serve(database_url: str | None, host: str, port: int) -> None:
    """Run the server: REST API, event stream, wall pages, camera relay.

    Expects a migrated database (`pantau db upgrade`, the Procfile's release step).
    """
    settings = Settings(host=host, port=port)
    setup_logging(settings.log_format)
    with database(database_url) as db:
        pending = run_async(migrate.pending(db.url))
        if pending:
            raise fail(f"{len(pending)} migration(s) pending: run `pantau db upgrade` first")
        settings.database_url = db.url
        with contextlib.suppress(KeyboardInterrupt):
            run_server(serve_until_stopped(settings))


@click.command("up", context_settings=CONTEXT_SETTINGS)
@_server_options
@click.option("--no-seed", is_flag=True, help="Do not load the demo city.")
def up(database_url: str | None, host: str, port: int, no_seed: bool) -> None:
    """Run the whole system locally: Postgres, migrations, demo city, server.

    Without DATABASE_URL a private Postgres is created in PANTAU_DATA_DIR and
    stopped again on Ctrl-C. A second run reuses its data.
    """
    from db.seed.demo import DEMO_LOGINS, DEMO_OPEN311_KEY, DEMO_PASSWORD, seed_demo
    from server.cli.common import with_orm
    from server.cli.database import progress_printer

    started = time.monotonic()
    settings = Settings(host=host, port=port, log_format="text")
    setup_logging("text", logging.WARNING)
    click.echo("pantau: starting database ...", err=True)
    with database(database_url, start_embedded=True) as db:
        owner = _claim_cluster(db)
        try:
            applied = run_async(migrate.upgrade(db.url))
            for m in applied:
                click.echo(f"  applied migration {m.version:04d}_{m.name}", err=True)
            if not no_seed:
                click.echo("pantau: loading the demo city ...", err=True)
                run_async(with_orm(db.url, lambda: seed_demo(progress_printer())))  # type: ignore[arg-type]
            settings.database_url = db.url

            me = _command_name()

            def banner(bound_port: int) -> None:
                base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{bound_port}"
                where = ("private Postgres in " + str(db.embedded.base_dir)) if db.embedded \
                    else "DATABASE_URL"
                lines = [
                    "",
                    f"Pantau is up in {time.monotonic() - started:.1f}s ({where})",
                    f"  server      {base}   (health: {base}/healthz)",
                    f"  console     {me} console --server {base}",
                    f"  ops wall    {me} wall-term --server {base}",
                    f"  wall        {base}/wall/main   (24 synthetic cameras; pair the screen:"
                    f" {me} wall pair CODE --monitor main)",
                    f"  open311     {base}/open311/v2/   api_key={DEMO_OPEN311_KEY}",
                    f"  demo logins (password: {DEMO_PASSWORD})",
                ]
                lines += [f"    {u:<14} {what}" for u, what in DEMO_LOGINS]
                lines += ["  Ctrl-C stops everything.", ""]
                click.echo("\n".join(lines))

            with contextlib.suppress(KeyboardInterrupt):
                run_server(serve_until_stopped(settings, banner))
        finally:
            # Stop Postgres before saying so: the terminal (or a pipe) may already
            # be gone after Ctrl-C, and a failed echo must not leave it running.
            if db.embedded is not None and (db.started_here or owner):
                with contextlib.suppress(Exception):
                    click.echo("pantau: stopping the private Postgres ...", err=True)
                db.embedded.stop()
            if owner is not None:
                owner.unlink(missing_ok=True)
    with contextlib.suppress(Exception):
        click.echo("pantau: stopped", err=True)


def _command_name() -> str:
    """How the user can run `pantau` again: bare if it is on PATH, else its path."""
    import os
    import shutil
    import sys
    from pathlib import Path

    here = Path(sys.argv[0]).resolve()
    found = shutil.which("pantau")
    if found and Path(found).resolve() == here:
        return "pantau"
    try:
        return os.path.relpath(here)
    except ValueError:
        return str(here)


def _claim_cluster(db: object) -> Path | None:
    """Make this `pantau up` the owner of the private cluster, so Ctrl-C stops it.

    A cluster found running with no live `pantau up` owning it was left behind
    (a crash, a killed terminal) and is adopted; one owned by another running
    `pantau up` is left alone on exit. Returns the owner file, or None.
    """
    import os

    embedded = getattr(db, "embedded", None)
    if embedded is None:
        return None
    pidfile = Path(embedded.base_dir) / "up.pid"
    try:
        other = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        other = 0
    if other and other != os.getpid():
        try:
            os.kill(other, 0)
        except ProcessLookupError:
            pass  # stale: adopt
        except PermissionError:
            return None
        else:
            return None  # another pantau up is using it
    pidfile.write_text(f"{os.getpid()}\n")
    return pidfile


COMMANDS = [serve, up]
