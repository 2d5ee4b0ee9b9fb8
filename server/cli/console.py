"""`pantau console`: the operator console, a Textual client of a running server.

Textual is imported inside the command only, so importing the server (or any
other command) never loads the terminal UI.
"""

from __future__ import annotations

import click

from server.cli.common import CONTEXT_SETTINGS, command_settings, console_settings
from server.cli.local import resolve_server, server_option, wait_for_server


@click.command("console", context_settings=CONTEXT_SETTINGS)
@server_option
@click.option("--lang", type=click.Choice(["en", "id"]), default=None,
              help="Interface language (env PANTAU_LANG; default: the signed-in person's "
                   "preference).")
@click.option("--logout", is_flag=True, help="Forget the saved sign-in token first.")
def console(server_url: str | None, lang: str | None, logout: bool) -> None:
    """The operator console: queue, routing, 112 calls, panic alarms, cameras.

    Sign in once; the token is kept in ~/.config/pantau/token.json (mode 0600).
    Keys can be remapped by binding id in ~/.config/pantau/keymap.toml.
    """
    from tui import config
    from tui.app import PantauApp

    settings = console_settings(lang=lang)
    choice = resolve_server(command_settings(server=server_url))
    wait_for_server(choice, lambda line: click.echo(line, err=True))
    if logout:
        config.clear_token(settings.config_dir)
    PantauApp(choice.url, language=settings.lang, settings=settings).run()


COMMANDS = [console]
