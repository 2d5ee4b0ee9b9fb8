"""Versioned migrations: `NNNN_name.sql` files applied in order, each in one
transaction, with the applied versions and the SHA-256 of each file recorded in
`schema_migrations`.

Plain SQL rather than generated DDL so indexes, checks and extensions are exactly
what we reviewed; an advisory lock makes two `pantau db upgrade` racing (two
release phases) safe. A step SQL cannot do (encrypting with a key that must never
reach the database) is a `NNNN_name.py` with `async def upgrade(conn)`, run in
the same kind of transaction.

A fresh database and an upgraded one must end up the same, so the runner refuses
(`MigrationRefused`, one line) rather than guess when the record and the files
disagree: an applied file that changed since, an applied version whose file is
gone, or a file numbered below the highest applied version that was never applied
(it would run after migrations written later than it). db/migrations/README.md
explains the numbering and its one gap.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources

import asyncpg  # type: ignore[import-untyped]

MIGRATION_LOCK = 0x70616E7461  # "panta": serialises concurrent upgrades
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sql|py)$")

# The migrations written in parallel on 2 December and numbered apart (0014,
# 0021-0026, 0031) were renumbered 0014-0021 in the order they landed, before
# any release. A development database that applied them under the old numbers is
# brought to the new ones once, when its record gains checksums: name -> (old, new).
_RENUMBERED = {
    "ticket_status_key": (21, 14),
    "contact_not_delivered": (22, 15),
    "monitor_language": (31, 16),
    "suggestion_from_the_rules": (23, 17),
    "device_secrets_sealed": (14, 18),
    "sla_clock_starts": (24, 19),
    "panic_category": (25, 20),
    "queue_order": (26, 21),
}


class MigrationRefused(RuntimeError):
    """The applied record and the shipped files disagree; nothing was applied."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    checksum: str  # SHA-256 of the file's bytes, hex
    sql: str = ""
    module: str = ""  # a Python migration: db.migrations.<module>.upgrade(conn)

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    async def apply(self, conn: asyncpg.Connection) -> None:
        if self.module:
            step: Callable[[asyncpg.Connection], Awaitable[None]] = importlib.import_module(
                f"db.migrations.{self.module}").upgrade
            await step(conn)
        else:
            await conn.execute(self.sql)


@dataclass(frozen=True)
class Applied:
    """One row of `schema_migrations`."""
    version: int
    name: str
    checksum: str | None


def available() -> list[Migration]:
    """Every migration shipped in db/migrations, in version order."""
    found = []
    for entry in resources.files("db.migrations").iterdir():
        m = _NAME.match(entry.name)
        if not m:
            continue
        data = entry.read_bytes()
        version, name, checksum = int(m.group(1)), m.group(2), hashlib.sha256(data).hexdigest()
        if m.group(3) == "sql":
            found.append(Migration(version, name, checksum, sql=data.decode()))
        else:
            found.append(Migration(version, name, checksum,
                                   module=entry.name.removesuffix(".py")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError("two migrations share a version number")
    return found


def refusal(done: list[Applied], shipped: list[Migration]) -> str | None:
    """Why this record cannot be upgraded with these files, in one line; None if it can."""
    files = {m.version: m for m in shipped}
    problems = []
    for row in done:
        mig = files.get(row.version)
        if mig is None:
            problems.append(f"applied migration {row.version:04d}_{row.name} has no file"
                            " in db/migrations")
        elif row.name != mig.name:
            problems.append(f"applied migration {row.version:04d}_{row.name} is now another"
                            f" file, {mig.label}")
        elif row.checksum != mig.checksum:
            problems.append(f"migration {mig.label} changed after it was applied (its SHA-256"
                            " differs): restore the file and put the change in a new migration")
    if done:
        top = max(done, key=lambda row: row.version)
        recorded = {row.version for row in done}
        for mig in shipped:
            if mig.version < top.version and mig.version not in recorded:
                problems.append(f"migration {mig.label} is numbered below the applied"
                                f" {top.version:04d}_{top.name} but was never applied:"
                                " renumber it after the highest applied one")
    if not problems:
        return None
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"refusing to migrate: {problems[0]}{more}"


async def _has_checksums(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema ="
        " current_schema() AND table_name = 'schema_migrations'"
        " AND column_name = 'checksum')"))


async def applied_rows(conn: asyncpg.Connection) -> list[Applied]:
    """The record, in version order; empty for a database never migrated.

    Raises MigrationRefused for a record from before checksums: only
    `pantau db upgrade` may add them (a read-only caller such as `pantau serve`
    must not change the schema).
    """
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return []
    if not await _has_checksums(conn):
        raise MigrationRefused("the migration record has no checksums yet:"
                               " run `pantau db upgrade` first")
    rows = await conn.fetch(
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    return [Applied(r["version"], r["name"], r["checksum"]) for r in rows]


async def applied(conn: asyncpg.Connection) -> list[int]:
    return [row.version for row in await applied_rows(conn)]


async def _bootstrap(conn: asyncpg.Connection, shipped: list[Migration]) -> None:
    """Create the record, or give a record from before checksums its checksum column.

    Rows of the earlier record get the checksum of their file as it is now (it
    cannot be known what was applied then); the renumbered migrations take their
    new numbers first. Runs under the migration lock, in one transaction.
    """
    async with conn.transaction():
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(), checksum text)")
        if await _has_checksums(conn):
            return
        # Through negative numbers: an old number can be another's new one.
        await conn.executemany(
            "UPDATE schema_migrations SET version = $3 WHERE version = $1 AND name = $2",
            [(old, name, -new) for name, (old, new) in _RENUMBERED.items()])
        await conn.execute("UPDATE schema_migrations SET version = -version WHERE version < 0")
        await conn.execute("ALTER TABLE schema_migrations ADD COLUMN checksum text")
        await conn.executemany(
            "UPDATE schema_migrations SET checksum = $2 WHERE version = $1 AND name = $3",
            [(m.version, m.checksum, m.name) for m in shipped])


async def upgrade(dsn: str) -> list[Migration]:
    """Apply what is missing; returns the migrations applied now (empty if current).

    Raises MigrationRefused, before applying anything, when the record and the
    files disagree (see the module docstring).
    """
    shipped = available()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await _bootstrap(conn, shipped)
            done = await applied_rows(conn)
            why = refusal(done, shipped)
            if why:
                raise MigrationRefused(why)
            recorded = {row.version for row in done}
            newly = []
            for mig in shipped:
                if mig.version in recorded:
                    continue
                async with conn.transaction():
                    await mig.apply(conn)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum)"
                        " VALUES ($1, $2, $3)",
                        mig.version, mig.name, mig.checksum,
                    )
                newly.append(mig)
            return newly
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    finally:
        await conn.close()


async def pending(dsn: str) -> list[Migration]:
    """What `upgrade` would apply; raises MigrationRefused as `upgrade` would refuse."""
    shipped = available()
    conn = await asyncpg.connect(dsn)
    try:
        done = await applied_rows(conn)
    finally:
        await conn.close()
    why = refusal(done, shipped)
    if why:
        raise MigrationRefused(why)
    recorded = {row.version for row in done}
    return [m for m in shipped if m.version not in recorded]
