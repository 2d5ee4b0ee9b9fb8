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
