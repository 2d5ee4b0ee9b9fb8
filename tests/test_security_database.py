"""The database role: the app owns its schema and nothing more; a superuser
DATABASE_URL is warned about; the private cluster makes the role, also for a
cluster from before it existed (an earlier `make up`)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from db import migrate
from db.embedded import APP_USER, DB_NAME, EmbeddedPostgres, run_coroutine_sync
from server.keys import pool_key
from tests.conftest import Api, base_of, start_app

# What a superuser could do and the schema owner must not.
FORBIDDEN = [
    "CREATE ROLE intruder LOGIN SUPERUSER",
    "CREATE DATABASE intruder",
    "ALTER SYSTEM SET log_statement = 'all'",
    "COPY (SELECT 1) TO PROGRAM 'true'",
    "SELECT pg_read_file('postgresql.conf')",
    "CREATE EXTENSION IF NOT EXISTS file_fdw",
]


async def assert_owner_and_nothing_more(conn: asyncpg.Connection) -> str:
    role = await conn.fetchrow(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
        " FROM pg_roles WHERE rolname = current_user")
    assert not any(role[k] for k in ("rolsuper", "rolcreaterole", "rolcreatedb",
                                     "rolreplication", "rolbypassrls")), dict(role)
    owners = await conn.fetch(
        "SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        " AND c.relkind IN ('r', 'v', 'm', 'S')")
    assert [r["owner"] for r in owners] == [role["rolname"]]
    for sql in FORBIDDEN:
        with pytest.raises(asyncpg.PostgresError) as refused:
            await conn.execute(sql)
        assert isinstance(refused.value, (asyncpg.InsufficientPrivilegeError,
                                          asyncpg.FeatureNotSupportedError)) \
            or "permission denied" in str(refused.value) \
            or "must be superuser" in str(refused.value), (sql, refused.value)
    return str(role["rolname"])


async def test_the_server_runs_as_the_schema_owner_and_nothing_more(
        api: Api, server: TestServer, caplog: pytest.LogCaptureFixture) -> None:
    async with server.app[pool_key].acquire() as conn:
        role = await assert_owner_and_nothing_more(conn)
    assert role.startswith("pantau_test_")
    # ...and the whole app works as it: sign in, file and route a ticket, live events.
    op = api.as_user(await api.login("operator"))
    ws = await api.ws(token=op.token)
    assert (await ws.receive_json())["type"] == "hello"
    status, t = await op.post("/api/tickets", {"channel": "walk_in", "category": "sampah",
                                               "description": "Sampah", "address": "Jl. Dago"})
    assert status == 201
    status, _ = await op.post(f"/api/tickets/{t['id']}/route", {"version": t["version"]})
    assert status == 200
    event = await ws.receive_json()
    assert event["type"] == "event" and event["kind"].startswith("ticket.")
    await ws.close()
    assert "DATABASE_URL connects as" not in caplog.text


async def test_a_superuser_database_url_gets_one_warning_at_start(
        db_url: str, pg_admin_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pantau.server")
    admin = urlsplit(pg_admin_url)
    as_superuser = db_url.replace(urlsplit(db_url).netloc, admin.netloc)
    srv = await start_app(as_superuser)
    try:
        async with aiohttp.ClientSession() as s, s.get(base_of(srv) + "/healthz") as r:
            assert r.status == 200  # a warning, not a refusal
    finally:
        await srv.close()
    warnings = [r.getMessage() for r in caplog.records if "DATABASE_URL connects as" in
                r.getMessage()]
    assert warnings == [f"DATABASE_URL connects as {admin.username!r}, which has SUPERUSER, "
                        "CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS: use a role that owns "
                        "the schema and nothing more (README: the database role)"]


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pantau-role-"))
    os.chmod(path, 0o711)
    yield path
    cluster = EmbeddedPostgres(path / "data")
    if cluster.initialised:
        cluster.destroy()
    shutil.rmtree(path, ignore_errors=True)


def test_a_cluster_from_before_the_app_role_is_upgraded_on_its_next_start(
        cluster_dir: Path) -> None:
    """As an earlier `make up` left it: database, tables and migrations owned by the
    superuser, no app role. The next start hands everything to the app role, and
    migrations, the seed and the server run as it."""
    cluster = EmbeddedPostgres(cluster_dir / "data")
    cluster.start()

    async def make_old() -> None:
        admin = await asyncpg.connect(cluster.admin_url("postgres"))
        await admin.execute(f'ALTER DATABASE "{DB_NAME}" OWNER TO pantau')
        await admin.execute(f'DROP ROLE "{APP_USER}"')
        await admin.close()
        await migrate.upgrade(cluster.admin_url(DB_NAME))  # the old way: as superuser

    run_coroutine_sync(make_old())
    data = json.loads(cluster.secrets_file.read_text())
    del data["app_password"]
    cluster.secrets_file.write_text(json.dumps(data))
    cluster.stop()

    url = cluster.start()  # what the next `make up` does
    assert urlsplit(url).username == APP_USER

    async def use() -> None:
        from db.orm import close_orm, init_orm
        from db.seed.demo import seed_demo

        conn = await asyncpg.connect(url)
        try:
            await assert_owner_and_nothing_more(conn)
            assert await conn.fetchval("SELECT pg_get_userbyid(datdba) FROM pg_database"
                                       " WHERE datname = current_database()") == APP_USER
            # The events trigger function (migration 0013) changed hands too.
            assert await conn.fetchval("SELECT pg_get_userbyid(proowner) FROM pg_proc"
                                       " WHERE proname = 'events_assign_id'") == APP_USER
        finally:
            await conn.close()
        assert await migrate.upgrade(url) == []
        await init_orm(url, max_size=2)
        try:
            await seed_demo(tickets=3)
        finally:
            await close_orm()
        srv = await start_app(url)
        try:
            async with aiohttp.ClientSession() as s:
                api = Api(base_of(srv), s)
                token = await api.login("supervisor")
                status, people = await api.get("/api/people", token=token)
                assert status == 200 and people
        finally:
            await srv.close()

    run_coroutine_sync(use())
    # A role someone widened by hand is narrowed again on the next start.
    run_coroutine_sync(_widen(cluster))
    cluster.stop()
    cluster.start()

    async def check() -> None:
        conn = await asyncpg.connect(url)
        try:
            await assert_owner_and_nothing_more(conn)
        finally:
            await conn.close()

    run_coroutine_sync(check())
    cluster.stop()


async def _widen(cluster: EmbeddedPostgres) -> None:
    admin = await asyncpg.connect(cluster.admin_url("postgres"))
    await admin.execute(f'ALTER ROLE "{APP_USER}" SUPERUSER CREATEDB')
    await admin.close()
