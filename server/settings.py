"""Configuration from environment variables (flags override them in the CLI)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from server.tickets.calendar import city_holidays_from_env


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
    db_pool_size: int = field(default_factory=lambda: _int_env("PANTAU_DB_POOL", 20))
    # Where browsers reach the server (behind a TLS proxy: its https URL). Makes
    # cookies Secure and sends HSTS when https; also an accepted Origin.
    public_url: str = field(
        default_factory=lambda: public_origin(os.environ.get("PANTAU_PUBLIC_URL", "")))
    # The city's own days off beyond the national holidays (cuti bersama, local
    # days): working-day SLAs skip them.
    city_holidays: frozenset[date] = field(default_factory=city_holidays_from_env)
    start_streams: bool = True
