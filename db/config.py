"""Where the database is: DATABASE_URL, or the embedded private cluster."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]


class DatabaseUnavailable(RuntimeError):
    """A one-line reason the database cannot be used, for users, not tracebacks."""


def validate_url(url: str) -> str:
    """Reject what is not a Postgres URL before anything tries to connect to it."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise DatabaseUnavailable(
            f"DATABASE_URL must start with postgres:// or postgresql://, got {parts.scheme!r}"
        )
    if not parts.hostname or not parts.path.strip("/"):
        raise DatabaseUnavailable(
            "DATABASE_URL must name a host and a database, e.g. "
            "postgres://user:password@localhost:5432/pantau"
        )
    try:
        _ = parts.port
    except ValueError as exc:
        raise DatabaseUnavailable(f"DATABASE_URL has a bad port: {exc}") from exc
    return url.replace("postgresql://", "postgres://", 1)


def describe(url: str) -> str:
    """The URL without its password, safe to print and log."""
    p = urlsplit(url)
    user = f"{p.username}@" if p.username else ""
    return f"{p.scheme}://{user}{p.hostname}:{p.port or 5432}{p.path}"


async def check_reachable(url: str, timeout: float = 5.0) -> None:
    """Connect once, so a wrong host/password is one clear line, not a traceback."""
    try:
        conn = await asyncpg.connect(url, timeout=timeout)
    except (TimeoutError, OSError) as exc:
        raise DatabaseUnavailable(f"cannot reach Postgres at {describe(url)}: {exc}") from exc
    except asyncpg.InvalidPasswordError as exc:
        raise DatabaseUnavailable(f"Postgres at {describe(url)} refused the password") from exc
    except asyncpg.InvalidCatalogNameError as exc:
        raise DatabaseUnavailable(f"Postgres at {describe(url)}: {exc}") from exc
    except asyncpg.PostgresError as exc:
        raise DatabaseUnavailable(f"Postgres at {describe(url)}: {exc}") from exc
    await conn.close()
