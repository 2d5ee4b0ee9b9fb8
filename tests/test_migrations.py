"""Migrations from an empty database, idempotence, concurrency, model/schema agreement,
and the runner's refusals when the record and the files disagree."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from importlib import resources

import asyncpg
import pytest
from click.testing import CliRunner
from tortoise import Tortoise

from db import migrate

# schema_migrations as it was before checksums (every database up to 0013).
LEGACY_RECORD = ("CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                 " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")


async def _legacy_database(url: str, applied: list[tuple[int, migrate.Migration]]) -> None:
    """Apply `applied` in order with the runner of before checksums, recording each
    under the given number (a development database's numbers before renumbering)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(LEGACY_RECORD)
        for number, mig in applied:
            async with conn.transaction():
                await mig.apply(conn)
                await conn.execute("INSERT INTO schema_migrations VALUES ($1, $2)",
                                   number, mig.name)
    finally:
        await conn.close()


async def _record(url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()


def test_numbering_is_continuous_after_the_one_gap() -> None:
    """0001-0005, then 0012 on without a hole (db/migrations/README.md explains 0006-0011)."""
    versions = [m.version for m in migrate.available()]
    assert versions[:7] == [1, 2, 3, 4, 5, 12, 13]
    assert versions[6:] == list(range(13, 13 + len(versions) - 6))


async def test_upgrade_from_empty_applies_every_migration_once(empty_db_url: str) -> None:
    applied = await migrate.upgrade(empty_db_url)
    assert [m.version for m in applied] == [m.version for m in migrate.available()]
    assert await migrate.upgrade(empty_db_url) == []
    assert await migrate.pending(empty_db_url) == []
    files = {e.name.split("_", 1)[0]: hashlib.sha256(e.read_bytes()).hexdigest()
             for e in resources.files("db.migrations").iterdir() if e.name[:4].isdigit()}
    assert {f"{r['version']:04d}": r["checksum"] for r in await _record(empty_db_url)} == files


async def test_two_concurrent_upgrades_do_not_collide(empty_db_url: str) -> None:
    a, b = await asyncio.gather(migrate.upgrade(empty_db_url), migrate.upgrade(empty_db_url))
    assert len(a) + len(b) == len(migrate.available())


async def test_every_model_field_has_its_column(orm: str) -> None:
    conn = await asyncpg.connect(orm)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'")
    finally:
        await conn.close()
    columns = {(r["table_name"], r["column_name"]) for r in rows}
    missing = []
    for model in Tortoise.apps["models"].values():
        table = model._meta.db_table
        for field in model._meta.fields_map.values():
            source = getattr(field, "source_field", None) or field.model_field_name
            if field.__class__.__name__ in ("BackwardFKRelation", "ForeignKeyFieldInstance",
                                            "ManyToManyFieldInstance", "BackwardOneToOneRelation"):
                continue
            if (table, source) not in columns:
                missing.append(f"{table}.{source}")
    assert not missing, f"model fields without a column: {missing}"


async def test_plaintext_device_secrets_of_an_older_database_are_sealed(
        empty_db_url: str) -> None:
    """A cluster from before migration 0018 (an earlier `make up`): its devices keep
    their secrets, now sealed, and a demo device's published secret still opens."""
    from db.vault import server_key

    sealing = next(m for m in migrate.available() if m.name == "device_secrets_sealed")
    await _legacy_database(empty_db_url, [(m.version, m) for m in migrate.available()
                                          if m.version < sealing.version])
    conn = await asyncpg.connect(empty_db_url)
    try:
        await conn.execute("INSERT INTO devices (code, owner_name, lat, lon, secret) VALUES"
                           " ('demo-dago', 'Ibu Dago', -6.88, 107.61, 'pds_demo_demo-dago')")
        applied = await migrate.upgrade(empty_db_url)
        assert sealing in applied
        sealed = await conn.fetchval("SELECT sealed_secret FROM devices")
        assert "pds_demo" not in sealed and server_key().open(sealed) == "pds_demo_demo-dago"
    finally:
        await conn.close()


async def test_a_database_at_0013_upgrades_cleanly_and_gains_checksums(
        empty_db_url: str) -> None:
    """Every database released so far: 0001-0013 recorded without checksums."""
    shipped = migrate.available()
    await _legacy_database(empty_db_url, [(m.version, m) for m in shipped if m.version <= 13])
    with pytest.raises(migrate.MigrationRefused, match="no checksums yet: run `pantau db"
                                                       " upgrade` first"):
        await migrate.pending(empty_db_url)  # what `pantau serve` asks: it never alters
    applied = await migrate.upgrade(empty_db_url)
    assert [m.version for m in applied] == [m.version for m in shipped if m.version > 13]
    assert [(r["version"], r["name"], r["checksum"]) for r in await _record(empty_db_url)] \
        == [(m.version, m.name, m.checksum) for m in shipped]
    assert await migrate.upgrade(empty_db_url) == []


async def test_a_development_database_with_the_old_numbers_is_renumbered(
        empty_db_url: str) -> None:
    """A `make up` of this morning applied 0021, 0022 and 0031 under those numbers:
    its record takes the new ones, and what it lacks is applied after them."""
    by_name = {m.name: m for m in migrate.available()}
    old = [(21, by_name["ticket_status_key"]), (22, by_name["contact_not_delivered"]),
           (31, by_name["monitor_language"])]
    await _legacy_database(
        empty_db_url, [(m.version, m) for m in migrate.available() if m.version <= 13] + old)
    applied = await migrate.upgrade(empty_db_url)
    assert [m.version for m in applied] == [17, 18, 19, 20, 21]
    record = await _record(empty_db_url)
    assert [(r["version"], r["name"]) for r in record] \
        == [(m.version, m.name) for m in migrate.available()]
    assert all(r["checksum"] == by_name[r["name"]].checksum for r in record)


@pytest.fixture
async def migrated_url(empty_db_url: str) -> AsyncIterator[str]:
    await migrate.upgrade(empty_db_url)
    yield empty_db_url


async def _tamper(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _refused(url: str) -> str:
    """The one line `upgrade` and `pending` both refuse with, having changed nothing."""
    before = await _record(url)
    with pytest.raises(migrate.MigrationRefused) as upgrading:
        await migrate.upgrade(url)
    with pytest.raises(migrate.MigrationRefused) as checking:
        await migrate.pending(url)
    assert str(upgrading.value) == str(checking.value)
    assert "\n" not in str(upgrading.value)
    assert await _record(url) == before
    return str(upgrading.value)


async def test_an_applied_migration_whose_file_changed_is_refused(migrated_url: str) -> None:
    await _tamper(migrated_url, "UPDATE schema_migrations SET checksum = repeat('0', 64)"
                                " WHERE version = 3")
    line = await _refused(migrated_url)
    assert "migration 0003_alarms changed after it was applied" in line


async def test_an_applied_migration_without_its_file_is_refused(migrated_url: str) -> None:
    await _tamper(migrated_url, "INSERT INTO schema_migrations (version, name, checksum)"
                                " VALUES (9999, 'from_another_branch', 'x')")
    line = await _refused(migrated_url)
    assert "applied migration 9999_from_another_branch has no file in db/migrations" in line


async def test_a_lower_number_after_a_higher_one_is_refused(migrated_url: str) -> None:
    """A file numbered 0015 that this database never applied, below its 0021: applying
    it now would run it after 0016-0021, unlike on a fresh database."""
    await _tamper(migrated_url, "DELETE FROM schema_migrations WHERE version = 15")
    line = await _refused(migrated_url)
    assert "migration 0015_contact_not_delivered is numbered below the applied" \
           " 0021_queue_order but was never applied" in line


@pytest.fixture
async def changed_url(migrated_url: str) -> AsyncIterator[str]:
    await _tamper(migrated_url, "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    yield migrated_url


@pytest.mark.parametrize("command", [["db", "upgrade"], ["serve", "--port", "0"],
                                     ["up", "--no-seed", "--port", "0"]])
def test_commands_refuse_to_start_with_one_line(changed_url: str, command: list[str]) -> None:
    from server.cli import main

    r = CliRunner().invoke(main, command, env={"DATABASE_URL": changed_url})
    assert r.exit_code == 1
    assert [line for line in r.output.splitlines() if line.startswith("Error:")] == [
        "Error: refusing to migrate: migration 0001_initial changed after it was applied"
        " (its SHA-256 differs): restore the file and put the change in a new migration"]
    assert "Traceback" not in r.output
