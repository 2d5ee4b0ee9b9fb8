"""Migrations from an empty database, idempotence, concurrency, and model/schema agreement."""

from __future__ import annotations

import asyncio

import asyncpg
from tortoise import Tortoise

from db import migrate


async def test_upgrade_from_empty_applies_every_migration_once(empty_db_url: str) -> None:
    applied = await migrate.upgrade(empty_db_url)
    assert [m.version for m in applied] == [m.version for m in migrate.available()]
    assert await migrate.upgrade(empty_db_url) == []
    assert await migrate.pending(empty_db_url) == []


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
    """A cluster from before migration 0014 (an earlier `make up`): its devices keep
    their secrets, now sealed, and a demo device's published secret still opens."""
    from db.vault import server_key

    conn = await asyncpg.connect(empty_db_url)
    try:
        await conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                           " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for mig in migrate.available():
            if mig.version < 14:
                await mig.apply(conn)
                await conn.execute("INSERT INTO schema_migrations VALUES ($1, $2)",
                                   mig.version, mig.name)
        await conn.execute("INSERT INTO devices (code, owner_name, lat, lon, secret) VALUES"
                           " ('demo-dago', 'Ibu Dago', -6.88, 107.61, 'pds_demo_demo-dago')")
        applied = await migrate.upgrade(empty_db_url)
        assert 14 in [m.version for m in applied]
        sealed = await conn.fetchval("SELECT sealed_secret FROM devices")
        assert "pds_demo" not in sealed and server_key().open(sealed) == "pds_demo_demo-dago"
    finally:
        await conn.close()
