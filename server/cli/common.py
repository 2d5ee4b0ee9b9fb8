"""What every command shares: its settings, finding the database, and errors as one
clear line."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from db.config import DatabaseUnavailable, check_reachable
from db.embedded import EmbeddedPostgres, EmbeddedPostgresError
from db.settings import SettingsError
from server.settings import Settings

if TYPE_CHECKING:
    from tui.settings import ConsoleSettings

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
T = TypeVar("T")


@dataclass
class Database:
    url: str
    embedded: EmbeddedPostgres | None = None
    started_here: bool = False


_SETTINGS = "pantau.settings"
_FLAGS = "pantau.flags"


def command_settings(**flags: Any) -> Settings:
    """This command's settings: the environment with its flags on top (a flag left
    out is None), read once per command and handed to what it calls. A bad value
    is one line and exit status 1."""
    ctx = click.get_current_context(silent=True)
    given = {k: v for k, v in flags.items() if v is not None}
    meta = ctx.meta if ctx is not None else {}
    if _SETTINGS in meta and given.items() <= meta[_FLAGS].items():
        return meta[_SETTINGS]
    given = {**meta.get(_FLAGS, {}), **given}
    try:
        settings = Settings(**given)
    except SettingsError as exc:
        raise fail(str(exc.code).removeprefix("pantau: ")) from None
    meta[_SETTINGS], meta[_FLAGS] = settings, given
    return settings


def console_settings(**flags: Any) -> ConsoleSettings:
    """The console's settings (`tui.settings`) with the command's flags on top."""
    from pydantic import ValidationError

    from db.settings import one_line
    from tui.settings import ConsoleSettings

    given = {k: v for k, v in flags.items() if v is not None}
    try:
        settings = ConsoleSettings(**given)
    except ValidationError as exc:
        raise fail(one_line(ConsoleSettings, exc).removeprefix("pantau: ")) from None
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta["pantau.console_flags"] = given
    return settings


def command_flags() -> dict[str, Any]:
    """The flags this command passed into its settings (for `pantau config`)."""
    ctx = click.get_current_context(silent=True)
    return dict(ctx.meta.get(_FLAGS, {})) if ctx is not None else {}


def database_url_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--database-url", default=None, metavar="URL",
        help="Postgres URL (env DATABASE_URL). Default: the private cluster of `pantau up`.",
    )(f)


def fail(message: str) -> click.ClickException:
    return click.ClickException(message)


@contextlib.contextmanager
def database(url: str | None, *, start_embedded: bool = False) -> Iterator[Database]:
    """Yield a reachable database, starting the private cluster when allowed.

    `url`: the command's --database-url (None: DATABASE_URL, else the private
    cluster). Any failure becomes one line on stderr and exit status 1, never a
    traceback.
    """
    settings = command_settings(database_url=url)
    try:
        explicit = settings.database_url
        if explicit:
            asyncio.run(check_reachable(explicit))
            yield Database(explicit)
            return
        cluster = EmbeddedPostgres(settings.data_dir, settings.pg_bin)
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
