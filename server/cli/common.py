"""What every command shares: finding the database, and errors as one clear line."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from db.config import DatabaseUnavailable, check_reachable, env_url
from db.embedded import EmbeddedPostgres, EmbeddedPostgresError, default_data_dir

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
T = TypeVar("T")


@dataclass
class Database:
    url: str
    embedded: EmbeddedPostgres | None = None
    started_here: bool = False


def database_url_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--database-url", envvar="DATABASE_URL", default=None, metavar="URL",
        help="Postgres URL (env DATABASE_URL). Default: the private cluster of `pantau up`.",
    )(f)


def fail(message: str) -> click.ClickException:
    return click.ClickException(message)


@contextlib.contextmanager
def database(url: str | None, *, start_embedded: bool = False) -> Iterator[Database]:
    """Yield a reachable database, starting the private cluster when allowed.

    Any failure becomes one line on stderr and exit status 1, never a traceback.
    """
    if url is not None:
        os.environ["DATABASE_URL"] = url
    try:
        explicit = env_url()
        if explicit:
            asyncio.run(check_reachable(explicit))
            yield Database(explicit)
            return
        cluster = EmbeddedPostgres(default_data_dir())
        if not cluster.initialised and not start_embedded:
            raise fail("DATABASE_URL is not set and there is no local database yet: "
                       "run `pantau up` once, or set DATABASE_URL")
        was_running = cluster.initialised and cluster.is_running()
        db_url = cluster.start()
        db = Database(db_url, cluster, started_here=not was_running)
    except (DatabaseUnavailable, EmbeddedPostgresError) as exc:
        raise fail(str(exc)) from None
    try:
        yield db
    finally:
        if db.started_here and not start_embedded:
            cluster.stop()


def run_async(coro: Awaitable[T]) -> T:
    """Run a command's coroutine; database failures become one clear line."""
    from db.config import DatabaseUnavailable as Unavailable
    from db.migrate import MigrationRefused
    from db.vault import VaultError
    from server.errors import is_db_down

    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except (Unavailable, VaultError, MigrationRefused) as exc:
        raise fail(str(exc)) from None
    except Exception as exc:
        if is_db_down(exc):
            raise fail(f"lost the database: {exc}") from None
        raise


async def with_orm(url: str, work: Callable[[], Awaitable[T]]) -> T:
    from db.orm import close_orm, init_orm

    await init_orm(url, max_size=5)
    try:
        return await work()
    finally:
        await close_orm()


def on_database(database_url: str | None, work: Callable[[], Awaitable[T]],
                refusals: tuple[type[Exception], ...] = ()) -> T:
    """Run `work` with the ORM on the command's database.

    A rule the work refuses (one of `refusals`, e.g. PersonError) becomes one
    line on stderr and exit status 1, like every other failure of a command.
    """
    with database(database_url) as db:
        try:
            return run_async(with_orm(db.url, work))
        except refusals as exc:
            raise fail(str(exc)) from None
