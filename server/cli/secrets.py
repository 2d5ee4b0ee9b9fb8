"""`pantau secrets ...`: the server key that seals device secrets (db/vault.py).

Where the key lives: PANTAU_SECRET_KEY (comma-separated, newest first) or the
file PANTAU_DATA_DIR/secret-key (one a line, newest first, 0600). Rotating:

- key file: `pantau secrets rotate-key` puts a new key first, seals every device
  secret again with it, then drops the old keys. Running servers re-read the file.
- PANTAU_SECRET_KEY: `pantau secrets new-key` prints a key; set the variable to
  NEW,OLD on every process and restart them; `pantau secrets reseal`; then set
  it to NEW alone and restart again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from db.vault import KEY_ENV, VaultError, server_key
from server.cli.common import (
    CONTEXT_SETTINGS,
    command_settings,
    database_url_option,
    fail,
    on_database,
)


@click.group("secrets", context_settings=CONTEXT_SETTINGS)
def secrets_group() -> None:
    """The server key that keeps device secrets sealed in the database."""


def _one_line(command: Callable[..., None]) -> Callable[..., None]:
    """A missing or malformed key is one line on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except VaultError as exc:
            raise fail(str(exc)) from None

    return wrapper


@secrets_group.command("status")
@database_url_option
@_one_line
def status_cmd(database_url: str | None) -> None:
    """Where the key is, how many keys it holds, and whether every device secret opens."""
    from tortoise import connections

    from server.alarms.devices import unreadable_secrets

    key = server_key(command_settings(database_url=database_url))
    click.echo(f"server key: {key.source} ({len(key.keys)} key(s), the first seals)")

    async def check() -> tuple[int, list[str]]:
        conn = connections.get("default")
        rows = await conn.execute_query_dict("SELECT count(*) AS n FROM devices")
        return int(rows[0]["n"]), await unreadable_secrets(conn, key)

    total, bad = on_database(database_url, check)
    if bad:
        raise fail(f"{len(bad)} of {total} device secrets do not open with this key: "
                   f"{', '.join(bad[:10])}")
    click.echo(f"all {total} device secrets open with it")


@secrets_group.command("new-key")
def new_key_cmd() -> None:
    """Print a fresh key (for PANTAU_SECRET_KEY); changes nothing."""
    from db.vault import new_key

    click.echo(new_key())


@secrets_group.command("rotate-key")
@database_url_option
@click.option("--keep-old", is_flag=True,
              help="Keep the old keys after sealing again (e.g. to open an old backup).")
@_one_line
def rotate_key_cmd(database_url: str | None, keep_old: bool) -> None:
    """Key file: a new key first, every device secret sealed again with it, old keys dropped."""
    from tortoise import connections

    from db.vault import ServerKey, key_path, new_key, write_key_file
    from server.alarms.devices import reseal_all, unreadable_secrets

    settings = command_settings(database_url=database_url)
    if settings.secret_keys:
        raise fail(f"{KEY_ENV} is set, so the key file is not used: run `pantau secrets "
                   f"new-key`, set {KEY_ENV}=NEW,OLD everywhere, restart, then "
                   "`pantau secrets reseal`")
    old = server_key(settings, create=True)
    fresh = (new_key(), *old.keys)
    path = write_key_file(fresh, settings)
    click.echo(f"added a new first key to {path} (the old ones still open)")
    newest = ServerKey(fresh[:1], "the new key")

    async def reseal_until_clean() -> tuple[int, list[str]]:
        # A device enrolled while this ran may have been sealed with an old key by a
        # server that had not yet re-read the file: seal again until none is left.
        count, left = 0, []
        for _ in range(3):
            count = await reseal_all(server_key(settings))
            left = await unreadable_secrets(connections.get("default"), newest)
            if not left:
                break
        return count, left

    count, left = on_database(database_url, reseal_until_clean)
    click.echo(f"sealed {count} device secret(s) with the new key")
    if left:
        raise fail(f"kept the old keys: {', '.join(left[:5])} still need them; run "
                   "`pantau secrets rotate-key` again")
    if not keep_old:
        write_key_file(fresh[:1], settings)
        click.echo(f"dropped {len(old.keys)} old key(s); {key_path(settings)} holds one key")


@secrets_group.command("reseal")
@database_url_option
@_one_line
def reseal_cmd(database_url: str | None) -> None:
    """Seal every device secret again with the first key (after adding a key to
    PANTAU_SECRET_KEY); all or nothing."""
    from server.alarms.devices import reseal_all

    key = server_key(command_settings(database_url=database_url))
    count = on_database(database_url, lambda: reseal_all(key))
    click.echo(f"sealed {count} device secret(s) with the first key of {key.source}")


COMMANDS = [secrets_group]
