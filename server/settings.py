"""Configuration from environment variables (flags override them in the CLI)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from limits import parse_many

from server.tickets.calendar import city_holidays_from_env
from streams.ice import IceConfigError, IceServer, parse_ice_servers

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"pantau: {name} must be a whole number, got {raw!r}") from exc


def public_origin(raw: str) -> str:
    """PANTAU_PUBLIC_URL reduced to the origin browsers see (`https://host[:port]`);
    '' when unset. A malformed value stops the server rather than weakening checks."""
    raw = raw.strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username:
        raise SystemExit(f"pantau: PANTAU_PUBLIC_URL must look like https://pantau.example.org,"
                         f" got {raw!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def cors_origins(raw: str) -> tuple[str, ...]:
    """PANTAU_CORS_ORIGINS: origins (`https://app.example.org`), comma- or
    space-separated, or `*` for any; each reduced as PANTAU_PUBLIC_URL is."""
    items = raw.replace(",", " ").split()
    if items == ["*"]:
        return ("*",)
    try:
        return tuple(public_origin(item) for item in items)
    except SystemExit as exc:
        raise SystemExit(f"pantau: PANTAU_CORS_ORIGINS lists origins like "
                         f"https://app.example.org (or is *), got {raw!r}") from exc


def _ice_env() -> tuple[IceServer, ...]:
    try:
        return parse_ice_servers(os.environ.get("PANTAU_ICE_SERVERS", ""))
    except IceConfigError as exc:
        raise SystemExit(f"pantau: PANTAU_ICE_SERVERS: {exc}") from exc


def _bool_env(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"pantau: {name} must be true or false, got {raw!r}")


def _networks_env(name: str) -> tuple[Network, ...]:
    """Comma- or space-separated addresses and CIDR blocks (`10.0.0.5, 192.168.0.0/24`)."""
    raw = os.environ.get(name, "").replace(",", " ").split()
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in raw)
    except ValueError as exc:
        raise SystemExit(f"pantau: {name} must list addresses or CIDR blocks: {exc}") from exc


def _rate_env(name: str, default: str) -> str:
    """A rate limit in the `limits` notation (`5/minute;20/hour`), checked at start."""
    raw = os.environ.get(name, "").strip() or default
    try:
        parse_many(raw)
    except ValueError as exc:
        raise SystemExit(f"pantau: {name} must look like '5/minute;20/hour', got {raw!r}"
                         ) from exc
    return raw


@dataclass
class Settings:
    """Everything a server process needs; see the README's configuration table."""

    database_url: str = ""
    host: str = field(default_factory=lambda: os.environ.get("PANTAU_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int_env("PANTAU_PORT", 8080))
    token_ttl_hours: int = field(default_factory=lambda: _int_env("PANTAU_TOKEN_TTL_HOURS", 12))
    log_format: str = field(default_factory=lambda: os.environ.get("PANTAU_LOG_FORMAT", "json"))
    # Per-subscriber queue of the event hub: a client this far behind is dropped
    # and resyncs from the event log instead of growing memory.
    subscriber_queue: int = field(
        default_factory=lambda: _int_env("PANTAU_SUBSCRIBER_QUEUE", 2000))
    # A client reconnecting with since= more than this many events behind gets a
    # `resync` frame with a snapshot of the current state instead of the log, so
    # what one client can make the server replay is bounded.
    replay_window: int = field(
        default_factory=lambda: _int_env("PANTAU_REPLAY_WINDOW", 5000))
    db_pool_size: int = field(default_factory=lambda: _int_env("PANTAU_DB_POOL", 20))
    # Where browsers reach the server (behind a TLS proxy: its https URL). Makes
    # cookies Secure and sends HSTS when https; also an accepted Origin.
    public_url: str = field(
        default_factory=lambda: public_origin(os.environ.get("PANTAU_PUBLIC_URL", "")))
    # The city's own days off beyond the national holidays (cuti bersama, local
    # days): working-day SLAs skip them.
    city_holidays: frozenset[date] = field(default_factory=city_holidays_from_env)
    # Reverse proxies whose X-Forwarded-For is believed (server/client_address.py);
    # empty: the client address is always the TCP peer.
    trusted_proxies: tuple[Network, ...] = field(
        default_factory=lambda: _networks_env("PANTAU_TRUSTED_PROXIES"))
    # Password checks run in this many low-priority threads, with at most
    # `signin_queue` more waiting; past that a sign-in answers 429 (server/signin.py).
    signin_workers: int = field(default_factory=lambda: _int_env("PANTAU_SIGNIN_WORKERS", 1))
    signin_queue: int = field(default_factory=lambda: _int_env("PANTAU_SIGNIN_QUEUE", 8))
    # Rate limits per client address (server/ratelimit.py owns what each one counts).
    rate_signin_address: str = field(default_factory=lambda: _rate_env(
        "PANTAU_RATE_SIGNIN_ADDRESS", "30/minute;300/hour"))
    rate_signin_account: str = field(default_factory=lambda: _rate_env(
        "PANTAU_RATE_SIGNIN_ACCOUNT", "5/minute;10/10 minutes;20/hour"))
    rate_pairing: str = field(default_factory=lambda: _rate_env(
        "PANTAU_RATE_PAIRING", "20/15 minutes"))
    rate_lapor: str = field(default_factory=lambda: _rate_env(
        "PANTAU_RATE_LAPOR", "10/minute;60/hour"))
    rate_lapor_status: str = field(default_factory=lambda: _rate_env(
        "PANTAU_RATE_LAPOR_STATUS", "30/minute;300/hour"))
    rate_open311_key: str = field(default_factory=lambda: _rate_env(
        "PANTAU_RATE_OPEN311_KEY", "10/minute;100/hour"))
    # Pages on these origins may call the API, WHEP and Open311 with a bearer token
    # or api_key (CORS, server/cors.py); never with the session cookie.
    cors_origins: tuple[str, ...] = field(
        default_factory=lambda: cors_origins(os.environ.get("PANTAU_CORS_ORIGINS", "")))
    # Open311 reads (public reports only) from a page on any origin.
    cors_open311_any_origin: bool = field(
        default_factory=lambda: _bool_env("PANTAU_CORS_OPEN311_ANY_ORIGIN"))
    # STUN/TURN servers for WHEP (streams/ice.py): aiortc's answerer, the wall page
    # and every player (Link: rel="ice-server") use them.
    ice_servers: tuple[IceServer, ...] = field(default_factory=_ice_env)
    start_streams: bool = True

    def __post_init__(self) -> None:
        if self.signin_workers < 1 or self.signin_queue < 0:
            raise SystemExit("pantau: PANTAU_SIGNIN_WORKERS must be at least 1 and "
                             "PANTAU_SIGNIN_QUEUE at least 0")
        if self.replay_window < 0:
            raise SystemExit("pantau: PANTAU_REPLAY_WINDOW must be 0 or more")
