"""`pantau db upgrade|status` and `pantau seed demo`."""

from __future__ import annotations

import click

from db import migrate
from db.seed.city import DEMO_TICKETS, TICKETS_PER_DAY
from server.cli.common import CONTEXT_SETTINGS, database, database_url_option, run_async, with_orm


@click.group("db", context_settings=CONTEXT_SETTINGS)
def db_group() -> None:
    """Database schema: apply and inspect migrations."""


@db_group.command("upgrade")
@database_url_option
def upgrade(database_url: str | None) -> None:
    """Apply pending migrations (safe to run twice, or from two processes at once)."""
    with database(database_url) as db:
        applied = run_async(migrate.upgrade(db.url))
    if applied:
        for m in applied:
            click.echo(f"applied {m.version:04d}_{m.name}")
    else:
        click.echo("database schema is up to date")


@db_group.command("status")
@database_url_option
def status(database_url: str | None) -> None:
    """Show which migrations are applied and which are pending."""
    with database(database_url) as db:
        pending = run_async(migrate.pending(db.url))
    names = {m.version for m in pending}
    for m in migrate.available():
        click.echo(f"{m.version:04d}_{m.name}: {'pending' if m.version in names else 'applied'}")


@click.group("seed", context_settings=CONTEXT_SETTINGS)
def seed_group() -> None:
    """Load data sets."""


def progress_printer() -> object:
    """Progress on one updating line in a terminal, one line per step in a log."""
    import sys

    last: dict[str, int] = {}
    tty = sys.stderr.isatty()

    def show(step: str, done: int, total: int) -> None:
        if last.get(step) == done or (not tty and done < total):
            return
        last[step] = done
        end = "\n" if done >= total else "\r"
        click.echo(f"  {step:<12} {done:>5}/{total:<5}", nl=False, err=True)
        click.echo(end, nl=False, err=True)

    return show


@seed_group.command("demo")
@database_url_option
@click.option("--tickets", default=None, type=click.IntRange(0, 100_000),
              help="How many demo tickets: the city's history at its rate of "
                   f"{TICKETS_PER_DAY} a day, ending now (default: a year, "
                   f"{DEMO_TICKETS}).")
def seed_demo_cmd(database_url: str | None, tickets: int | None) -> None:
    """Create the demo city of Bandung: districts, departments, staff, cameras, and
    its tickets: most long resolved within their SLA, a handful open now.

    Idempotent: a second run creates nothing new (except today's shifts on a new day).
    """
    from db.seed.demo import seed_demo

    if tickets is None:
        tickets = DEMO_TICKETS

    with database(database_url) as db:
        run_async(migrate.upgrade(db.url))
        created = run_async(with_orm(db.url, lambda: seed_demo(progress_printer(),  # type: ignore[arg-type]
                                                               tickets=tickets)))
    made = ", ".join(f"{k} {v}" for k, v in created.items() if v)
    click.echo(f"demo city ready ({made or 'nothing new'})")


COMMANDS = [db_group, seed_group]
