"""Every setting of the server and the `pantau` commands, declared once.

One `Settings` object is read at the start of a command (the environment, then
the command's flags on top: `Settings(host=..., port=...)`), validated there (a
bad value is one line and exit status 1), and passed down: the app keeps it
under `settings_key`, the CLI hands it to what it calls. Nothing below reads
the environment itself. `pantau config` prints the effective values and where
each came from; the README's configuration table is checked against this class
(tests/test_settings.py). The console's own settings are `tui.settings`.
"""

from __future__ import annotations

import ipaddress
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many
from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from db.settings import DatabaseSettings, SettingsError
from server.tickets.calendar import parse_city_holidays
from streams.ice import IceConfigError, IceServer, parse_ice_servers

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_PORT = 8080


def public_origin(raw: str) -> str:
    """PANTAU_PUBLIC_URL reduced to the origin browsers see (`https://host[:port]`);
    '' when unset. A malformed value stops the server rather than weakening checks."""
    raw = raw.strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username:
        raise SettingsError(f"pantau: PANTAU_PUBLIC_URL must look like "
                            f"https://pantau.example.org, got {raw!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _rate(value: str) -> str:
    """A rate limit in the `limits` notation (`5/minute;20/hour`), checked at start."""
    value = value.strip()
    try:
        parse_many(value)
    except ValueError:
        raise ValueError("must look like '5/minute;20/hour'") from None
    return value


Rate = Annotated[str, Field(min_length=1)]


class Settings(DatabaseSettings):
    """Everything a server process and the `pantau` commands need (the database's
    part is `DatabaseSettings`); see the README's configuration table."""

    # -- where it listens, and who reaches it -----------------------------------------
    host: str = "127.0.0.1"
    """Address the server listens on (`--host`)."""

    port: int = Field(DEFAULT_PORT, ge=0, le=65535)
    """Port the server listens on (`--port`); 0 picks a free one."""

    server: str = ""
    """`pantau console`, `wall-term`, `device press/heartbeat`: the server to use
    (`--server`). Unset: the address the running `pantau up` of the data directory
    recorded, else `http://PANTAU_HOST:PANTAU_PORT`."""

    public_url: str = ""
    """Where browsers reach the server, e.g. `https://pantau.example.org` behind a TLS
    proxy: an accepted `Origin`; `https` makes cookies `Secure` and sends HSTS."""

    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = ()
    """Reverse proxies (addresses or CIDR blocks, comma-separated) whose
    `X-Forwarded-For` names the client; from anyone else the header is ignored."""

    log_format: Literal["json", "text"] = "json"
    """`json` (one object per line) or `text`; `pantau up` always writes text."""

    tz: str = "Asia/Jakarta"
    """The room's time zone (an IANA name), whatever the machine's clock says."""

    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Origins (`https://app.example.org`, comma-separated, or `*`) whose pages may
    call the API, WHEP and Open311 with a bearer token or `api_key` (CORS), never
    with the session cookie."""

    cors_open311_any_origin: bool = False
    """Open311 reads (public reports only) from a page on any origin."""

    # -- sign-in ----------------------------------------------------------------------
    token_ttl_hours: int = Field(12, ge=1)
    """Sign-in token lifetime in hours."""

    signin_workers: int = Field(1, ge=1)
    """Threads that check passwords (at a lower CPU priority than the server)."""

    signin_queue: int = Field(8, ge=0)
    """Sign-ins that may wait for a password thread; more are answered 429 at once."""

    rate_signin_address: Rate = "30/minute;300/hour"
    """Failed sign-ins from one client address, any account."""

    rate_signin_account: Rate = "5/minute;10/10 minutes;20/hour"
    """Sign-in attempts from one address on one account (a success clears them)."""

    rate_pairing: Rate = "20/15 minutes"
    """Wall pairing codes one address may ask for."""

    rate_lapor: Rate = "10/minute;60/hour"
    """`/lapor` complaints one address may send."""

    rate_lapor_status: Rate = "30/minute;300/hour"
    """`/lapor/status/...` pages one address may open."""

    rate_open311_key: Rate = "10/minute;100/hour"
    """Open311 POSTs with a missing or wrong `api_key` from one address."""

    # -- the event stream -------------------------------------------------------------
    subscriber_queue: int = Field(2000, ge=1)
    """Events a WebSocket client may lag before it must resync (bounded memory)."""

    replay_window: int = Field(5000, ge=0)
    """Most events a reconnecting client is replayed; further behind it gets a
    snapshot (`resync`), so what one client can make the server replay is bounded."""

    # -- tickets ----------------------------------------------------------------------
    city_holidays: Annotated[frozenset[date], NoDecode] = frozenset()
    """The city's days off beyond the national holidays, e.g. `2026-12-24,2027-01-04`
    (cuti bersama); working-day SLAs skip them."""

    sla_scan_seconds: float = Field(30.0, ge=0)
    """Seconds between SLA breach scans; `0` turns the scan off."""

    # -- panic alarms -----------------------------------------------------------------
    alarm_escalate_after: float = Field(30.0, gt=0)
    """Seconds an alarm may stay unacknowledged before the supervisor is called."""

    alarm_escalate_step: float = Field(60.0, gt=0)
    """Further seconds before it escalates to the police desk."""

    device_offline_after: float = Field(180.0, gt=0)
    """Seconds without a heartbeat or alarm before a device is shown offline."""

    device_clock_window: float = Field(30.0, gt=0)
    """How far a signed device request's timestamp may be from the server clock (s)."""

    alarm_tick: float = Field(1.0, gt=0)
    """Seconds between the alarm scheduler's passes (escalation, offline, outbox)."""

    # -- cameras ----------------------------------------------------------------------
    ice_servers: Annotated[tuple[IceServer, ...], NoDecode] = ()
    """STUN/TURN servers for WHEP video (streams/ice.py): URLs, comma-separated, or a
    JSON list of RTCIceServer; aiortc's answerer, the wall page and every player
    (`Link: rel="ice-server"`) use them."""

    clip_cache: Path | None = None
    """Where the demo cameras' encoded clips are kept between runs; unset:
    `$XDG_CACHE_HOME/pantau/clips` (`~/.cache/pantau/clips`)."""

    @field_validator("public_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        try:
            return public_origin(value)
        except SettingsError:
            raise ValueError("must look like https://pantau.example.org") from None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _cors(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        items = value.replace(",", " ").split()
        if items == ["*"]:
            return ("*",)
        try:
            return tuple(public_origin(item) for item in items)
        except SettingsError:
            raise ValueError("lists origins like https://app.example.org (or is *)") from None

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _ice(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return parse_ice_servers(value)
        except IceConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return tuple(ipaddress.ip_network(item, strict=False)
                         for item in value.replace(",", " ").split())
        except ValueError as exc:
            raise ValueError(f"must list addresses or CIDR blocks: {exc}") from None

    @field_validator("city_holidays", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return parse_city_holidays(value)

    @field_validator("rate_signin_address", "rate_signin_account", "rate_pairing",
                     "rate_lapor", "rate_lapor_status", "rate_open311_key")
    @classmethod
    def _rates(cls, value: str) -> str:
        return _rate(value)

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be a time zone name such as Asia/Jakarta") from None
        return value

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        return value.strip().rstrip("/")
