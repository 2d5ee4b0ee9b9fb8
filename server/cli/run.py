"""`pantau serve` (production, as in the Procfile) and `pantau up` (everything, locally)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import click
from aiohttp import web

from db import migrate
from server.cli.common import (
    CONTEXT_SETTINGS,
    command_settings,
    database,
    database_url_option,
    fail,
    run_async,
)
from server.logs import AccessLog, setup_logging
from server.settings import Settings

log = logging.getLogger("pantau.cli")
# Ctrl-C, a supervisor's stop, and the terminal closing (SIGHUP) all stop the
# server the same way: a closed terminal must not leave `pantau up`'s Postgres behind.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _server_options(f: Callable[..., object]) -> Callable[..., object]:
    f = click.option("--port", default=None, type=click.IntRange(0, 65535),
                     help="TCP port (env PANTAU_PORT; default 8080).")(f)
    f = click.option("--host", default=None,
                     help="Address to listen on (env PANTAU_HOST; default 127.0.0.1).")(f)
    return database_url_option(f)


async def serve_until_stopped(settings: Settings,
                              on_ready: Callable[[int], Awaitable[None] | None] | None = None,
                              ) -> None:
    """Run the app until SIGINT/SIGTERM/SIGHUP, then shut down every resource in order."""
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
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    log.info("listening", extra={"host": settings.host, "port": port})
    if on_ready is not None:
        result = on_ready(port)
        if asyncio.iscoroutine(result):
            await result
    try:
        await stop.wait()
    finally:
        for sig in STOP_SIGNALS:
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
def serve(database_url: str | None, host: str | None, port: int | None) -> None:
    """Run the server: REST API, event stream, wall pages, camera relay.

    Expects a migrated database (`pantau db upgrade`, the Procfile's release step).
    """
    settings = command_settings(database_url=database_url, host=host, port=port)
    setup_logging(settings.log_format)
    with database(database_url) as db:
        pending = run_async(migrate.pending(db.url))
        if pending:
            raise fail(f"{len(pending)} migration(s) pending: run `pantau db upgrade` first")
        settings = settings.model_copy(update={"database_url": db.url})
        with contextlib.suppress(KeyboardInterrupt):
            run_server(serve_until_stopped(settings))


@click.command("up", context_settings=CONTEXT_SETTINGS)
@_server_options
@click.option("--no-seed", is_flag=True, help="Do not load the demo city.")
def up(database_url: str | None, host: str | None, port: int | None, no_seed: bool) -> None:
    """Run the whole system locally: Postgres, migrations, demo city, server.

    Without DATABASE_URL a private Postgres is created in PANTAU_DATA_DIR and
    stopped again on Ctrl-C (or when the terminal closes). A second run reuses
    its data; a second `pantau up` on the same data directory while one runs refuses.
    """
    from server.cli import local

    started = time.monotonic()
    # `pantau up` is for a person at a terminal: its logs are text whatever the
    # environment says.
    settings = command_settings(database_url=database_url, host=host, port=port,
                                log_format="text")
    data_dir = settings.data_dir
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(local.up_lock(data_dir))
        except local.AlreadyRunning as exc:
            raise fail(str(exc)) from None
        except OSError as exc:
            raise fail(f"cannot use the data directory {data_dir}: {exc}") from None
        # Until the server's own handlers are in place, a closed terminal or a
        # TERM interrupts start-up like Ctrl-C does, so Postgres is stopped below.
        for sig in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(sig, _interrupt)
        private = not settings.database_url
        try:
            _up(settings, database_url, no_seed, started)
        except KeyboardInterrupt:
            pass  # interrupted while starting: stop what was started, below
        finally:
            # Nothing may interrupt stopping Postgres: a second Ctrl-C, or the
            # SIGHUP of a closing terminal arriving after the first signal.
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
            if private:
                _stop_private_cluster(settings)
    with contextlib.suppress(Exception):
        click.echo("pantau: stopped", err=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _up(settings: Settings, database_url: str | None, no_seed: bool, started: float) -> None:
    from db.seed.demo import DEMO_LOGINS, DEMO_OPEN311_KEY, DEMO_PASSWORD, seed_demo
    from server.cli import local
    from server.cli.common import with_orm
    from server.cli.database import progress_printer

    setup_logging(settings.log_format, logging.WARNING)
    host, data_dir = settings.host, settings.data_dir
    click.echo("pantau: starting database ...", err=True)
    with database(database_url, start_embedded=True) as db:
        applied = run_async(migrate.upgrade(db.url))
        for m in applied:
            click.echo(f"  applied migration {m.version:04d}_{m.name}", err=True)
        if not no_seed:
            click.echo("pantau: loading the demo city ...", err=True)
            run_async(with_orm(db.url, lambda: seed_demo(progress_printer())))  # type: ignore[arg-type]
        settings = settings.model_copy(update={"database_url": db.url})

        me = _command_name()

        def banner(bound_port: int) -> None:
            shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            url = f"http://{f'[{shown}]' if ':' in shown else shown}:{bound_port}"
            local.record_address(data_dir, url)
            where = ("private Postgres in " + str(db.embedded.base_dir)) if db.embedded \
                else "DATABASE_URL"
            lines = [
                "",
                f"Pantau is up in {time.monotonic() - started:.1f}s ({where})",
                f"  server      {url}   (health: {url}/healthz)",
                f"  console     {me} console --server {url}",
                f"  ops wall    {me} wall-term --server {url}",
                f"  wall        {url}/wall/main   (24 synthetic cameras; pair the screen:"
                f" {me} wall pair CODE --monitor main)",
                f"  public form {url}/lapor",
                f"  departments {url}/dept   (sign in as dsdabm.staff)",
                f"  panic       {me} device press demo-dago --server {url}",
                f"  open311     {url}/open311/v2/   api_key={DEMO_OPEN311_KEY}",
                f"  demo logins (password: {DEMO_PASSWORD})",
            ]
            lines += [f"    {u:<14} {what}" for u, what in DEMO_LOGINS]
            lines += ["  Ctrl-C stops everything.", ""]
            click.echo("\n".join(lines))

        with contextlib.suppress(KeyboardInterrupt):
            run_server(serve_until_stopped(settings, banner))


def _stop_private_cluster(settings: Settings) -> None:
    """Stop the private Postgres of the data directory if it runs.

    This process holds the data directory (up_lock), so a cluster running there
    is this run's, or was left behind by a crashed one: ours to stop either way,
    also when start-up was interrupted half-way. Stop it before saying so: the
    terminal (or a pipe) may already be gone, and a failed echo must not leave
    it running.
    """
    from db.embedded import EmbeddedPostgres, EmbeddedPostgresError

    cluster = EmbeddedPostgres(settings.data_dir, settings.pg_bin)
    try:
        if not (cluster.initialised and cluster.is_running()):
            return
        with contextlib.suppress(Exception):
            click.echo("pantau: stopping the private Postgres ...", err=True)
        cluster.stop()
    except EmbeddedPostgresError as exc:
        with contextlib.suppress(Exception):
            click.echo(f"pantau: could not stop the private Postgres: {exc}", err=True)


def _command_name() -> str:
    """How the user can run `pantau` again: bare if it is on PATH, else its path."""
    import shutil
    import sys

    here = Path(sys.argv[0]).resolve()
    found = shutil.which("pantau")
    if found and Path(found).resolve() == here:
        return "pantau"
    try:
        return os.path.relpath(here)
    except ValueError:
        return str(here)


COMMANDS = [serve, up]
