"""Tortoise set-up shared by the server, the CLI and the tests."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient

MODELS_MODULE = "db.models"


def tortoise_config(url: str, *, max_size: int = 20) -> dict[str, Any]:
    return {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": _credentials(url, max_size),
            }
        },
        "apps": {"models": {"models": [MODELS_MODULE], "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _credentials(url: str, max_size: int) -> dict[str, Any]:
    from urllib.parse import unquote, urlsplit

    p = urlsplit(url)
    return {
        "host": p.hostname,
        "port": p.port or 5432,
        "user": unquote(p.username or ""),
        "password": unquote(p.password or ""),
        "database": p.path.lstrip("/"),
        "minsize": 1,
        "maxsize": max_size,
        # A dead connection (Postgres restarted) is dropped by the pool instead of
        # being handed out again.
        "max_inactive_connection_lifetime": 60,
        "command_timeout": 30,
        "reset": keep_session,
    }


async def keep_session(conn: Any) -> None:
    """The pools' reset on release: nothing beyond what asyncpg always does.

    asyncpg rolls back an open transaction on release in any case; its default
    reset then sends `UNLISTEN *; RESET ALL; ...`, one more round trip on every
    release. Pantau never leaves session state on a pooled connection (LISTEN has
    its own connection, settings are `SET LOCAL`), so that trip buys nothing, and
    on the panic path it was a tenth of the server's time.
    """


async def init_orm(url: str, *, max_size: int = 20) -> None:
    """Initialise Tortoise for this process.

    The global fallback lets aiohttp handler tasks, which do not inherit the
    start-up task's context, see the initialised ORM.
    """
    await Tortoise.init(config=tortoise_config(url, max_size=max_size),
                        _enable_global_fallback=True)


async def close_orm() -> None:
    await Tortoise.close_connections()


def conn() -> BaseDBAsyncClient:
    return connections.get("default")
