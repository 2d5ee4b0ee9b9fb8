"""Configuration from environment variables (flags override them in the CLI)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"pantau: {name} must be a whole number, got {raw!r}") from exc


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
    start_streams: bool = True
