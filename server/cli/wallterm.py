"""`pantau wall-term`: the read-only operations wall in a terminal.

Textual is imported inside the command only (the server never loads it).
"""

from __future__ import annotations

import asyncio

import click

from server.cli.common import CONTEXT_SETTINGS, command_settings, console_settings, fail
from server.cli.local import resolve_server, server_option, wait_for_server


@click.command("wall-term", context_settings=CONTEXT_SETTINGS)
@server_option
@click.option("--wall-token", default=None, metavar="TOKEN",
              help="A paired wall display's credential (env PANTAU_WALL_TOKEN). "
                   "Without it, the console's sign-in is used (or asked for).")
@click.option("--rotate", default=10.0, show_default=True, type=click.FloatRange(2, 600),
              help="Seconds per page when everything does not fit on one screen.")
@click.option("--lang", type=click.Choice(["en", "id"]), default=None,
              help="Language for this run (env PANTAU_LANG; default: the signed-in "
                   "person's, or the wall display's monitor's, as the server keeps it).")
def wall_term(server_url: str | None, wall_token: str | None, rotate: float,
              lang: str | None) -> None:
    """The whole room at a glance: alarms, queue counters, SLA board, shift,
    cameras and the latest events. Read-only; keeps itself up to date.

    Keys (none needed): n next page, space pause rotation, q quit.
    """
    from tui import config
    from tui.client import ApiClient, ApiError
    from tui.opswall.app import OpsWallApp

    settings = console_settings(lang=lang, wall_token=wall_token)
    choice = resolve_server(command_settings(server=server_url))
    wait_for_server(choice, lambda line: click.echo(line, err=True))
    server_url = choice.url
    wall_token = settings.wall_token.get_secret_value() if settings.wall_token else None
    token = wall_token
    if token is None:
        stored = config.load_token(server_url, settings.config_dir)
        token = stored.token if stored else None
    client = ApiClient(server_url, token)

    language: str | None = None

    async def check() -> str | None:
        nonlocal language
        try:
            language = (await client.me()).get("language")
            return None
        except ApiError as exc:
            return exc.message
        finally:
            await client.close()

    problem = asyncio.run(check()) if token else "not signed in"
    if problem is not None and wall_token is not None:
        raise fail(f"the wall credential was refused: {problem}")
    if problem is not None:
        click.echo(f"Sign in to {server_url} ({problem}).", err=True)
        username = click.prompt("username")
        password = click.prompt("password", hide_input=True)

        async def login() -> dict[str, object]:
            try:
                return await client.login(username, password)
            finally:
                await client.close()

        try:
            body = asyncio.run(login())
        except ApiError as exc:
            raise fail(f"sign-in failed: {exc.message}") from None
        config.save_token(config.StoredToken(server_url, str(body["token"]),
                                             str(body["expires_at"]), username),
                          settings.config_dir)
        person = body.get("person")
        language = person.get("language") if isinstance(person, dict) else None
    OpsWallApp(ApiClient(server_url, client.token), rotate_seconds=rotate,
               language=settings.lang or language, settings=settings).run()


COMMANDS = [wall_term]
