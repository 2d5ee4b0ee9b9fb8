"""`pantau device enrol|list|rotate|disable|press|heartbeat`: panic-button devices.

`press` and `heartbeat` speak HTTP exactly like a field unit (signed, retried with
backoff until the server confirms), so a demo or a drill exercises the real path.
They need the device's secret: --secret, or PANTAU_DEVICE_SECRET, or the secrets
file that `enrol` and `rotate` write (PANTAU_DATA_DIR/device-secrets.json, mode
0600), or, for the seeded demo devices, their published demo secret.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import click

from server.cli.common import (
    CONTEXT_SETTINGS,
    command_settings,
    database,
    database_url_option,
    fail,
    on_database,
    run_async,
)
from server.cli.local import resolve_server, server_option

SECRETS_FILE = "device-secrets.json"


def secrets_path() -> Path:
    return command_settings().data_dir / SECRETS_FILE


def load_secrets(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_secret(path: Path, code: str, secret: str) -> None:
    """Keep a device secret for `press`, readable by this user only (0600, atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = load_secrets(path)
    data[code] = secret
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def resolve_secret(code: str, given: str | None) -> str:
    """--secret / env, then the secrets file, then a demo device's published secret."""
    if given:
        return given
    known = load_secrets(secrets_path())
    if code in known:
        return known[code]
    from db.seed.demo import DEMO_DEVICES, demo_device_secret

    if code in {d[0] for d in DEMO_DEVICES}:
        return demo_device_secret(code)
    raise fail(f"no secret for device {code!r}: pass --secret, set PANTAU_DEVICE_SECRET, "
               f"or enrol/rotate it here so it is kept in {secrets_path()}")


def parse_contact(raw: str) -> dict[str, str]:
    """NAME,PHONE[,sms|whatsapp] -> a contact."""
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) not in (2, 3):
        raise click.BadParameter(f"{raw!r}: expected NAME,PHONE[,sms|whatsapp]")
    contact = {"name": parts[0], "phone": parts[1]}
    if len(parts) == 3:
        contact["channel"] = parts[2]
    return contact


@click.group("device", context_settings=CONTEXT_SETTINGS)
def device_group() -> None:
    """Panic-button devices: enrol, rotate secrets, disable, and press one like a real unit."""


def _kept(no_save: bool, code: str, secret: str) -> str:
    if no_save:
        return "not saved (--no-save): store it in the device now"
    path = secrets_path()
    save_secret(path, code, secret)
    return f"saved for `pantau device press` in {path} (mode 0600)"


@device_group.command("enrol")
@database_url_option
@click.argument("code")
@click.option("--owner", required=True, help="Owner's name (a citizen or a place).")
@click.option("--kind", type=click.Choice(["citizen", "place"]), default="citizen",
              show_default=True)
@click.option("--address", default="", help="Where the device is.")
@click.option("--district", default=None, help="District code, e.g. coblong.")
@click.option("--lat", type=click.FloatRange(-90, 90), required=True)
@click.option("--lon", type=click.FloatRange(-180, 180), required=True)
@click.option("--contact", "contacts", multiple=True, metavar="NAME,PHONE[,CHANNEL]",
              help="Someone to message when it is pressed; repeat for several.")
@click.option("--no-save", is_flag=True, help="Do not keep the secret in the data dir.")
def enrol_cmd(database_url: str | None, code: str, owner: str, kind: str, address: str,
              district: str | None, lat: float, lon: float, contacts: tuple[str, ...],
              no_save: bool) -> None:
    """Register a device; prints its secret (shown this once)."""
    from server.alarms.devices import DeviceError, enrol

    parsed = [parse_contact(c) for c in contacts]
    made = on_database(database_url, lambda: enrol(
        code=code, owner_name=owner, owner_kind=kind, address=address,
        district_code=district, lat=lat, lon=lon, contacts=parsed, actor="cli",
        settings=command_settings()),
        (DeviceError,))
    click.echo(f"enrolled {made.device['code']} ({made.device['owner_name']})")
    click.echo(f"secret: {made.secret}")
    click.echo(_kept(no_save, made.device["code"], made.secret))


@device_group.command("list")
@database_url_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(database_url: str | None, as_json: bool) -> None:
    """List devices with their state (online, offline, never_seen, disabled)."""
    from server.alarms.devices import list_devices
    from server.cli.common import with_orm as orm

    async def load() -> list[dict[str, Any]]:
        from tortoise import connections

        return await list_devices(connections.get("default"))

    with database(database_url) as db:
        rows = run_async(orm(db.url, load))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'CODE':<20} {'STATE':<11} {'KIND':<8} {'LAST SEEN':<20} OWNER")
    for r in rows:
        seen = (r["last_seen_at"] or "-")[:19]
        click.echo(f"{r['code']:<20} {r['state']:<11} {r['owner_kind']:<8} {seen:<20} "
                   f"{r['owner_name']}")
    click.echo(f"{len(rows)} device(s)")


@device_group.command("rotate")
@database_url_option
@click.argument("code")
@click.option("--no-save", is_flag=True, help="Do not keep the secret in the data dir.")
def rotate_cmd(database_url: str | None, code: str, no_save: bool) -> None:
    """Give a device a new secret; the old one stops working at once."""
    from server.alarms.devices import DeviceError, rotate_secret

    settings = command_settings(database_url=database_url)
    made = on_database(database_url, lambda: rotate_secret(code, actor="cli", settings=settings),
                       (DeviceError,))
    click.echo(f"new secret for {code}: {made.secret}")
    click.echo(_kept(no_save, code, made.secret))


@device_group.command("disable")
@database_url_option
@click.argument("code")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def disable_cmd(database_url: str | None, code: str, yes: bool) -> None:
    """Refuse a device's requests from now on (a lost or stolen unit)."""
    from server.alarms.devices import DeviceError, disable

    if not yes:
        click.confirm(f"Disable {code}? Its alarms will be refused.", abort=True)
    on_database(database_url, lambda: disable(code, actor="cli"), (DeviceError,))
    click.echo(f"disabled {code}")


def _device_options(f: Any) -> Any:
    f = click.option("--secret", envvar="PANTAU_DEVICE_SECRET", default=None,
                     help="The device secret (env PANTAU_DEVICE_SECRET).")(f)
    return server_option(f)


def _say_retry(server_url: str) -> Any:
    def say(attempt: int, outcome: str, delay: float) -> None:
        click.echo(f"attempt {attempt}: no confirmation from {server_url} ({outcome}); "
                   f"retrying in {delay:.1f} s (Ctrl-C to stop)", err=True)
    return say


async def _as_device(server_url: str, code: str, secret: str, action: str,
                     **kw: Any) -> Any:
    import aiohttp

    from server.alarms.client import DeviceClient

    async with aiohttp.ClientSession() as session:
        unit = DeviceClient(server_url, code, secret, session,
                            on_retry=_say_retry(server_url))
        if action == "press":
            return await unit.press(**kw)
        return await unit.heartbeat(**kw)


@device_group.command("press")
@click.argument("code")
@_device_options
@click.option("--lat", type=click.FloatRange(-90, 90), default=None,
              help="Where it was pressed (a mobile unit); default: its enrolled place.")
@click.option("--lon", type=click.FloatRange(-180, 180), default=None)
@click.option("--key", default=None, help="Idempotency key (default: a new one per press).")
@click.option("--give-up-after", type=click.FloatRange(1, 3600), default=120.0,
              show_default=True, help="Seconds to keep retrying.")
def press_cmd(code: str, server_url: str | None, secret: str | None, lat: float | None,
              lon: float | None, key: str | None, give_up_after: float) -> None:
    """Press a device's panic button, exactly as the unit would.

    Signs the request, and on a timeout, a connection error or a 5xx retries with
    backoff (same idempotency key) until the server confirms: one press, one alarm.
    """
    from server.alarms.client import DeviceRefused, GaveUp

    if (lat is None) != (lon is None):
        raise click.UsageError("give both --lat and --lon, or neither")
    secret = resolve_secret(code, secret)
    server = resolve_server(command_settings(server=server_url))
    click.echo(f"pressing {code} at {server.url} (address from {server.source}) ...", err=True)
    try:
        result = asyncio.run(_as_device(server.url, code, secret, "press", lat=lat, lon=lon,
                                        key=key, deadline_s=give_up_after))
    except DeviceRefused as exc:
        raise fail(f"refused ({exc.status}): "
                   f"{exc.body.get('message') if isinstance(exc.body, dict) else exc.body}"
                   ) from None
    except GaveUp as exc:
        raise fail(str(exc)) from None
    alarm = result.body["alarm"]
    verb = "raised" if result.body.get("created") else "already raised (same key)"
    click.echo(f"alarm #{alarm['id']} {verb}: {alarm['owner_name']}, {alarm['address']} "
               f"[{result.attempts} attempt(s), "
               f"{(result.finished - result.started) * 1000:.0f} ms, key {result.idempotency_key}]")
    cams = ", ".join(f"{c['code']} ({c['distance_m']} m)" for c in alarm["nearest_cameras"])
    if cams:
        click.echo(f"nearest cameras: {cams}")


@device_group.command("heartbeat")
@click.argument("code")
@_device_options
def heartbeat_cmd(code: str, server_url: str | None, secret: str | None) -> None:
    """Send one signed heartbeat (a device silent too long is shown offline)."""
    from server.alarms.client import DeviceRefused, GaveUp

    secret = resolve_secret(code, secret)
    server = resolve_server(command_settings(server=server_url))
    try:
        result = asyncio.run(_as_device(server.url, code, secret, "heartbeat"))
    except (DeviceRefused, GaveUp) as exc:
        raise fail(str(exc)) from None
    back = " (was offline)" if result.body.get("was_offline") else ""
    click.echo(f"heartbeat accepted for {code}{back}")


COMMANDS = [device_group]
