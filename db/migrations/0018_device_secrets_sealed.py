"""Device secrets are kept sealed under the server key (db/vault.py), never in clear.

Renames `devices.secret` to `sealed_secret`, seals every existing secret (a
private cluster from an earlier `make up` holds the demo devices' plaintext
secrets: they keep working, sealed), and adds a CHECK so the database itself
refuses a plaintext secret from any code path written later.
"""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

from db.vault import SEALED_PREFIX, server_key


async def upgrade(conn: asyncpg.Connection) -> None:
    await conn.execute("ALTER TABLE devices RENAME COLUMN secret TO sealed_secret")
    rows = await conn.fetch("SELECT id, sealed_secret FROM devices ORDER BY id")
    if rows:
        key = server_key(create=True)
        await conn.executemany("UPDATE devices SET sealed_secret = $2 WHERE id = $1",
                               [(r["id"], key.seal(r["sealed_secret"])) for r in rows])
    await conn.execute(
        "ALTER TABLE devices ADD CONSTRAINT devices_secret_sealed"
        f" CHECK (sealed_secret LIKE '{SEALED_PREFIX}%')")
    await conn.execute(
        "COMMENT ON COLUMN devices.sealed_secret IS 'the HMAC secret sealed with the server"
        " key (Fernet; PANTAU_SECRET_KEY or PANTAU_DATA_DIR/secret-key), never plaintext'")
