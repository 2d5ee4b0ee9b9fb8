"""The `pantau` command line. Each concern is a module that adds its commands."""

from __future__ import annotations

import click

from server.cli.common import CONTEXT_SETTINGS


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="pantau")
def main() -> None:
    """Pantau: a city command center (tickets, panic alarms, CCTV wall, console).

    Most commands use DATABASE_URL; without it they use the private Postgres
    that `pantau up` created in PANTAU_DATA_DIR.
    """


def _register() -> None:
    from server.cli import (
        config,
        console,
        database,
        devices,
        reports,
        run,
        secrets,
        shifts,
        users,
        walls,
        wallterm,
    )

    for module in (run, database, users, console, wallterm, walls, shifts, devices, secrets,
                   reports, config):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
