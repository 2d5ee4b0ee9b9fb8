"""Versioned migrations: `NNNN_name.sql` files applied in order, each in one
transaction, with the applied versions recorded in `schema_migrations`.

Plain SQL rather than generated DDL so indexes, checks and extensions are exactly
what we reviewed; an advisory lock makes two `pantau db upgrade` racing (two
release phases) safe. A step SQL cannot do (encrypting with a key that must never
reach the database) is a `NNNN_name.py` with `async def upgrade(conn)`, run in
the same kind of transaction.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources

import asyncpg  # type: ignore[import-untyped]

MIGRATION_LOCK = 0x70616E7461  # "panta": serialises concurrent upgrades
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sql|py)$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str = ""
    module: str = ""  # a Python migration: db.migrations.<module>.upgrade(conn)

    async def apply(self, conn: asyncpg.Connection) -> None:
        if self.module:
            step: Callable[[asyncpg.Connection], Awaitable[None]] = importlib.import_module(
                f"db.migrations.{self.module}").upgrade
            await step(conn)
        else:
            await conn.execute(self.sql)


def available() -> list[Migration]:
    """Every migration shipped in db/migrations, in version order."""
    found = []
    for entry in resources.files("db.migrations").iterdir():
        m = _NAME.match(entry.name)
        if m and m.group(3) == "sql":
            found.append(Migration(int(m.group(1)), m.group(2), sql=entry.read_text()))
        elif m:
            found.append(Migration(int(m.group(1)), m.group(2),
                                   module=entry.name.removesuffix(".py")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError("two migrations share a version number")
    return found


async def applied(conn: asyncpg.Connection) -> list[int]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return []
    rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
    return [r["version"] for r in rows]


async def upgrade(dsn: str) -> list[Migration]:
    """Apply what is missing; returns the migrations applied now (empty if current)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = set(await applied(conn))
            newly = []
            for mig in available():
                if mig.version in done:
                    continue
                async with conn.transaction():
                    await mig.apply(conn)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        mig.version, mig.name,
                    )
                newly.append(mig)
            return newly
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    finally:
        await conn.close()


async def pending(dsn: str) -> list[Migration]:
    conn = await asyncpg.connect(dsn)
    try:
        done = set(await applied(conn))
    finally:
        await conn.close()
    return [m for m in available() if m.version not in done]
