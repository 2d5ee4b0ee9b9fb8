"""Shared fixtures: a real Postgres for the whole run, a fresh database per test.

Without PANTAU_TEST_DATABASE_URL the run starts its own private cluster with
db/embedded.py (the same code `pantau up` uses). A template database is migrated
and seeded with the demo city once; each test gets a copy of it in ~100 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from db import migrate
from db.embedded import EmbeddedPostgres
from db.vault import KEY_ENV, new_key
from server.settings import Settings

TEMPLATE = "pantau_template"
SEED_TICKETS = 40
# One server key for the run (servers, migrations, CLI subprocesses), never the
# user's own key file; tests of the key file unset it.
os.environ[KEY_ENV] = new_key()


def _with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Postgres server we may create databases on."""
    given = os.environ.get("PANTAU_TEST_DATABASE_URL")
    if given:
        yield given
        return
    # Not below pytest's tmp dir: as root the `postgres` user must reach it.
    cluster = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="pantau-test-pg-")))
    cluster.start()
    try:
        yield cluster.admin_url("postgres")
    finally:
        cluster.destroy()


def _as_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(
        netloc=f"{user}:{password}@{parts.hostname}:{parts.port or 5432}"))


@pytest.fixture(scope="session")
async def pg_owner_url(pg_admin_url: str) -> AsyncIterator[str]:
    """The role the app under test runs as, as in production (db/roles.py): it owns
    each test database and nothing more. A URL on the `postgres` database; one role
    per run, so runs sharing a PANTAU_TEST_DATABASE_URL server do not collide."""
    from db.roles import ensure_owner_role

    name, password = f"pantau_test_{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    conn = await asyncpg.connect(pg_admin_url)
    try:
        await ensure_owner_role(conn, name, password)
    finally:
        await conn.close()
    yield _as_user(pg_admin_url, name, password)
    conn = await asyncpg.connect(pg_admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        with contextlib.suppress(asyncpg.PostgresError):  # a test database left behind
            await conn.execute(f'DROP ROLE "{name}"')
    finally:
        await conn.close()


def _owner(owner_url: str) -> str:
    return str(urlsplit(owner_url).username)


async def _create_db(admin_url: str, name: str, template: str | None = None,
                     owner: str | None = None) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        tpl = f' TEMPLATE "{template}"' if template else ""
        own = f' OWNER "{owner}"' if owner else ""
        await conn.execute(f'CREATE DATABASE "{name}"{tpl}{own}')
    finally:
        await conn.close()


async def _drop_db(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_db(pg_admin_url: str, pg_owner_url: str) -> str:
    """A migrated, demo-seeded database that tests clone, made by the owner role
    (so every object in its copies is the owner's, as after `pantau db upgrade`)."""
    from db.orm import close_orm, init_orm
    from db.seed.demo import seed_demo

    await _create_db(pg_admin_url, TEMPLATE, owner=_owner(pg_owner_url))
    url = _with_db(pg_owner_url, TEMPLATE)
    await migrate.upgrade(url)
    await init_orm(url, max_size=4)
    try:
        await seed_demo(tickets=SEED_TICKETS)
    finally:
        await close_orm()
    return TEMPLATE


@pytest.fixture
async def db_url(pg_admin_url: str, pg_owner_url: str, template_db: str
                 ) -> AsyncIterator[str]:
    """A fresh copy of the seeded template, dropped after the test; the URL is the
    owner role's (not a superuser), as the app runs in production."""
    name = f"t_{secrets.token_hex(6)}"
    await _create_db(pg_admin_url, name, template_db, owner=_owner(pg_owner_url))
    yield _with_db(pg_owner_url, name)
    await _drop_db(pg_admin_url, name)


@pytest.fixture
async def empty_db_url(pg_admin_url: str, pg_owner_url: str) -> AsyncIterator[str]:
    """A database with nothing in it, not even the schema; the owner role's URL."""
    name = f"e_{secrets.token_hex(6)}"
    await _create_db(pg_admin_url, name, owner=_owner(pg_owner_url))
    yield _with_db(pg_owner_url, name)
    await _drop_db(pg_admin_url, name)


@pytest.fixture
async def orm(db_url: str) -> AsyncIterator[str]:
    from db.orm import close_orm, init_orm

    await init_orm(db_url, max_size=5)
    yield db_url
    await close_orm()


@dataclass
class Api:
    """A tiny HTTP client for tests: base URL plus optional bearer token."""

    base: str
    session: aiohttp.ClientSession
    token: str | None = None

    def _headers(self, token: str | None) -> dict[str, str]:
        tok = token if token is not None else self.token
        return {"Authorization": f"Bearer {tok}"} if tok else {}

    async def request(self, method: str, path: str, *, json: Any = None,
                      token: str | None = None, **kw: Any) -> tuple[int, Any]:
        headers = {**self._headers(token), **kw.pop("headers", {})}
        async with self.session.request(method, self.base + path, json=json,
                                        headers=headers, **kw) as resp:
            ctype = resp.headers.get("Content-Type", "")
            body = await resp.json() if "json" in ctype else await resp.text()
            return resp.status, body

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.request("POST", path, json=json, **kw)

    async def login(self, username: str, password: str = "pantau-demo") -> str:
        status, body = await self.post("/api/auth/login",
                                       {"username": username, "password": password})
        assert status == 200, body
        return str(body["token"])

    def as_user(self, token: str) -> Api:
        return Api(self.base, self.session, token)

    async def ws(self, path: str = "/api/events", token: str | None = None,
                 **params: Any) -> aiohttp.ClientWebSocketResponse:
        return await self.session.ws_connect(self.base + path, params=params or None,
                                             headers=self._headers(token))


async def start_app(db_url: str, *, port: int = 0, start_streams: bool = False,
                    prepare: Callable[[web.Application], None] | None = None) -> TestServer:
    """The real application on 127.0.0.1:port (0 = any free port) against `db_url`;
    `prepare` may adjust the app (e.g. faster timers) before it starts."""
    from server.app import create_app

    app = create_app(Settings(database_url=db_url, log_format="text"),
                     start_streams=start_streams)
    if prepare is not None:
        prepare(app)
    srv = TestServer(app, host="127.0.0.1", port=port)
    await srv.start_server()
    return srv


def base_of(srv: TestServer) -> str:
    return str(srv.make_url("")).rstrip("/")


@pytest.fixture
async def server(db_url: str) -> AsyncIterator[TestServer]:
    """The real application on a real port, against this test's database."""
    srv = await start_app(db_url)
    yield srv
    await srv.close()


@pytest.fixture
async def streams_server(db_url: str) -> AsyncIterator[TestServer]:
    """The application with the camera relay running (the `server` fixture has none)."""
    srv = await start_app(db_url, start_streams=True)
    yield srv
    await srv.close()


@pytest.fixture
async def api(server: TestServer) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(base_of(server), session)


async def next_event(ws: aiohttp.ClientWebSocketResponse, kind: str | None = None,
                     timeout: float = 5.0) -> dict[str, Any]:
    """The next `event` frame (of `kind`, if given), skipping hello/pong frames."""
    async def read() -> dict[str, Any]:
        while True:
            msg = await ws.receive_json()
            if msg.get("type") == "event" and (kind is None or msg["kind"] == kind):
                return msg  # type: ignore[no-any-return]

    return await asyncio.wait_for(read(), timeout)


PROJECT_ROOT = Path(__file__).resolve().parent.parent
