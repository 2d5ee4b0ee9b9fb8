"""The database role Pantau runs as: it owns the application database and its
schema, and nothing more (no superuser, no CREATEROLE, no CREATEDB, no
replication, no row-security bypass).

A superuser connection turns any SQL injection or stolen DATABASE_URL into
the whole server (other databases, `COPY ... TO PROGRAM`, new roles); the schema
owner can only do what migrations need: create and alter its own tables, and
trusted extensions such as pg_trgm. An administrator (the private cluster's
superuser, or a CREATEROLE role on another server) makes the role once; the
migrations and the server then connect as it.
"""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

# Everything a LOGIN role could be given beyond owning what it creates, refused.
NOTHING_MORE = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"

_ATTRIBUTES = """
SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
FROM pg_roles WHERE rolname = current_user
"""


async def ensure_owner_role(admin: asyncpg.Connection, name: str, password: str) -> None:
    """Create the login role, or bring an existing one back to exactly this
    (attributes and password): run on every start, so a role someone widened by
    hand is narrowed again."""
    exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
    verb = "ALTER" if exists else "CREATE"
    sql = await admin.fetchval(f"SELECT format('{verb} ROLE %I LOGIN {NOTHING_MORE}"
                               " PASSWORD %L', $1::text, $2::text)", name, password)
    await admin.execute(sql)


async def hand_over(admin: asyncpg.Connection, owner: str) -> int:
    """Give `owner` everything in the connected database's public schema that
    another role owns (a database made before the owner role existed: an earlier
    `make up`). Returns how many objects changed hands; 0 when nothing to do."""
    database = await admin.fetchval("SELECT current_database()")
    changed = 0
    if await admin.fetchval("SELECT pg_get_userbyid(datdba) <> $1 FROM pg_database"
                            " WHERE datname = current_database()", owner):
        await admin.execute(await admin.fetchval(
            "SELECT format('ALTER DATABASE %I OWNER TO %I', $1::text, $2::text)",
            database, owner))
        changed += 1
    # Tables first: their own sequences follow them; then what is left.
    kinds = (("TABLE", "'r', 'p', 'f'"), ("VIEW", "'v'"), ("MATERIALIZED VIEW", "'m'"),
             ("SEQUENCE", "'S'"))
    for word, relkinds in kinds:
        rows = await admin.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE n.nspname = 'public' AND c.relkind IN ({relkinds})"
            " AND pg_get_userbyid(c.relowner) <> $1", owner)
        for r in rows:
            await admin.execute(await admin.fetchval(
                f"SELECT format('ALTER {word} public.%I OWNER TO %I', $1::text, $2::text)",
                r["relname"], owner))
            changed += 1
    # Functions and types of our own (not those an extension such as pg_trgm owns).
    functions = await admin.fetch(
        "SELECT p.oid::regprocedure::text AS sig, p.prokind FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> $1"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass"
        "                 AND d.objid = p.oid AND d.deptype = 'e')", owner)
    for f in functions:
        word = "PROCEDURE" if f["prokind"] == "p" else "FUNCTION"
        await admin.execute(f"ALTER {word} {f['sig']} OWNER TO \"{owner}\"")
        changed += 1
    types = await admin.fetch(
        "SELECT t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') AND t.typelem = 0"
        " AND pg_get_userbyid(t.typowner) <> $1"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass"
        "                 AND d.objid = t.oid AND d.deptype = 'e')", owner)
    for t in types:
        word = "DOMAIN" if t["typtype"] == "d" else "TYPE"
        await admin.execute(await admin.fetchval(
            f"SELECT format('ALTER {word} public.%I OWNER TO %I', $1::text, $2::text)",
            t["typname"], owner))
        changed += 1
    return changed


async def superuser_warning(conn: asyncpg.Connection) -> str | None:
    """What is wrong with the role this connection uses, or None: the one line a
    server logs at start when DATABASE_URL names a superuser (or a role with
    powers beyond its schema)."""
    row = await conn.fetchrow(_ATTRIBUTES)
    powers = [word for word, key in (("SUPERUSER", "rolsuper"), ("CREATEROLE", "rolcreaterole"),
                                     ("CREATEDB", "rolcreatedb"),
                                     ("REPLICATION", "rolreplication"),
                                     ("BYPASSRLS", "rolbypassrls")) if row[key]]
    if not powers:
        return None
    return (f"DATABASE_URL connects as {row['rolname']!r}, which has {', '.join(powers)}: "
            "use a role that owns the schema and nothing more (README: the database role)")
