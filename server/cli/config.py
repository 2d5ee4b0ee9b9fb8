"""`pantau config`: every setting's effective value and where it came from.

Where: `default`, `environment` (the variable is set), `flag` (given on this
command line) or `file` (the server key file, the address a running `pantau up`
recorded). Secrets never appear: the password in DATABASE_URL, the server key
and the wall token are masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from db.settings import env_name, set_in_environment
from db.vault import key_path
from server.cli.common import CONTEXT_SETTINGS, command_flags, command_settings, console_settings
from server.cli.local import resolve_server
from streams.ice import IceServer

MASK = "********"


def shown(value: Any) -> str:
    """A setting's value as one line of text."""
    if value is None or value == "":
        return "(unset)"
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, frozenset | set):
        return ",".join(sorted(d.isoformat() if isinstance(d, date) else str(d)
                               for d in value)) or "(none)"
    if isinstance(value, tuple):
        # STUN/TURN servers by their URLs only: a TURN credential is a secret.
        return ",".join(",".join(v.urls) if isinstance(v, IceServer) else str(v)
                        for v in value) or "(none)"
    return str(value)


def masked_url(url: str) -> str:
    """A Postgres URL with its password replaced by the mask."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


def rows(settings: BaseSettings, flags: Iterable[str]) -> list[tuple[str, str, str]]:
    """(variable, value, source) for every field of a settings object."""
    cls = type(settings)
    flagged, in_env = set(flags), set_in_environment(cls)
    out = []
    for name in cls.model_fields:
        value = getattr(settings, name)
        source = "flag" if name in flagged else "environment" if name in in_env else "default"
        out.append((env_name(cls, name), shown(value), source))
    return out


@click.command("config", context_settings=CONTEXT_SETTINGS)
@click.option("--host", default=None, help="As `pantau serve --host` would take it.")
@click.option("--port", default=None, type=click.IntRange(0, 65535),
              help="As `pantau serve --port` would take it.")
@click.option("--database-url", default=None, metavar="URL", help="As `--database-url`.")
@click.option("--server", "server_url", default=None, metavar="URL",
              help="As the clients' `--server`.")
@click.option("--lang", type=click.Choice(["en", "id"]), default=None,
              help="As the console's `--lang`.")
def config_cmd(host: str | None, port: int | None, database_url: str | None,
               server_url: str | None, lang: str | None) -> None:
    """Print every setting's effective value and where it came from (default,
    environment, flag or file); secrets masked. The flags show what a command
    given them would use."""
    settings = command_settings(host=host, port=port, database_url=database_url,
                                server=server_url)
    table = rows(settings, command_flags())
    fixed: list[tuple[str, str, str]] = []
    for var, value, source in table:
        if var == "DATABASE_URL" and settings.database_url:
            value = masked_url(settings.database_url)
        elif var == "DATABASE_URL":
            value = f"(unset: the private cluster in {settings.data_dir})"
        elif var == "PANTAU_SECRET_KEY" and not settings.secret_keys:
            path = key_path(settings)
            value, source = (f"{MASK} (key file {path})", "file") if path.exists() \
                else (f"(unset: {path}, made when the first device is enrolled)", source)
        elif var == "PANTAU_SERVER" and not settings.server:
            choice = resolve_server(settings)
            value = choice.url
            source = "file" if choice.source == "the running `pantau up`" else source
        fixed.append((var, value, source))
    console = console_settings(lang=lang)
    flags = click.get_current_context().meta.get("pantau.console_flags", {})
    known = {var for var, _, _ in fixed}
    fixed += [row for row in rows(console, flags) if row[0] not in known]
    width = max(len(var) for var, _, _ in fixed)
    value_width = min(max(len(value) for _, value, _ in fixed), 48)
    for var, value, source in fixed:
        click.echo(f"{var:<{width}}  {value:<{value_width}}  {source}")


COMMANDS = [config_cmd]
