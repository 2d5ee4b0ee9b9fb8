"""`pantau wall pair|list|revoke`: approve kiosk displays and take their access away."""

from __future__ import annotations

import json

import click

from server.cli.common import (
    CONTEXT_SETTINGS,
    database,
    database_url_option,
    on_database,
    run_async,
    with_orm,
)


@click.group("wall", context_settings=CONTEXT_SETTINGS)
def wall_group() -> None:
    """Wall displays (kiosk browsers at /wall/<monitor>)."""


@wall_group.command("pair")
@database_url_option
@click.argument("code")
@click.option("--monitor", "monitor", required=True, help="Monitor code, e.g. main.")
@click.option("--by", "actor", default="cli", show_default=True,
              help="Who approves (recorded in the event log).")
def pair(database_url: str | None, code: str, monitor: str, actor: str) -> None:
    """Approve the CODE a wall shows; it becomes MONITOR's display within seconds."""
    from server.routes.wall import WallError, approve_pairing

    on_database(database_url, lambda: approve_pairing(code, monitor, f"cli:{actor}"), (WallError,))
    click.echo(f"approved {code.upper()} for monitor {monitor}; the wall picks it up shortly")


@wall_group.command("list")
@database_url_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_walls(database_url: str | None, as_json: bool) -> None:
    """Pairing requests and paired walls, newest first."""
    from server.routes.wall import list_walls as load

    with database(database_url) as db:
        rows = run_async(with_orm(db.url, load))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'CODE':<8} {'STATE':<9} {'MONITOR':<14} {'TOKEN':<6} CREATED")
    for r in rows:
        click.echo(f"{r['code']:<8} {r['state']:<9} {r['monitor'] or '-'!s:<14} "
                   f"{r['token_id'] or '-'!s:<6} {r['created_at'][:19]}")


@wall_group.command("revoke")
@database_url_option
@click.argument("monitor")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def revoke(database_url: str | None, monitor: str, yes: bool) -> None:
    """Revoke every wall credential of MONITOR; its walls go dark at once."""
    from server.routes.wall import WallError, revoke_walls

    if not yes:
        click.confirm(f"Revoke all wall displays of monitor {monitor}?", abort=True)
    ids = on_database(database_url, lambda: revoke_walls(monitor, "cli"), (WallError,))
    click.echo(f"revoked {len(ids)} wall credential(s) of {monitor}")


COMMANDS = [wall_group]
