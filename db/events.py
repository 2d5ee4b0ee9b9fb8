"""The event log: append inside the caller's transaction, NOTIFY the id, replay by id.

Clients resume from the last event id they saw, which is only safe if ids become
visible in id order. Two concurrent transactions can take ids 7 and 8 and commit
8 first; a reader that saw 8 and then asks for `id > 8` would never see 7. So
append() takes a transaction-scoped advisory lock *before* the id is drawn:
appends serialise from the id draw to commit, and ids commit in order. Append
the event as the last statement of a transaction so the lock is held briefly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

CHANNEL = "pantau_events"
EVENT_LOCK = 0x6576656E74  # "event"

_APPEND_SQL = """
INSERT INTO events (id, kind, subject_type, subject_id, actor, department_id, payload)
SELECT nextval('events_id_seq'), $2, $3, $4, $5, $6, $7::jsonb
FROM (SELECT pg_advisory_xact_lock($1)) AS serialise
RETURNING id, created_at, pg_notify('pantau_events', id::text)::text AS notified
"""

COLUMNS = "id, kind, subject_type, subject_id, actor, department_id, payload, created_at"


@dataclass(frozen=True)
class EventRecord:
    id: int
    kind: str
    subject_type: str
    subject_id: str
    actor: str
    department_id: int | None
    payload: dict[str, Any]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "actor": self.actor,
            "department_id": self.department_id,
            "payload": self.payload,
            "at": self.created_at.isoformat(),
        }

    @classmethod
    def from_row(cls, row: Any) -> EventRecord:
        payload = row["payload"]
        if isinstance(payload, str):
            payload = json.loads(payload)
        return cls(
            id=int(row["id"]),
            kind=row["kind"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            actor=row["actor"],
            department_id=row["department_id"],
            payload=payload or {},
            created_at=row["created_at"],
        )


async def append(
    conn: BaseDBAsyncClient,
    kind: str,
    subject_type: str,
    subject_id: object,
    actor: str,
    payload: dict[str, Any] | None = None,
    *,
    department_id: int | None = None,
) -> int:
    """Append one event in the caller's transaction and NOTIFY its id on commit.

    `conn` must be the transaction's connection (from `in_transaction()`), so the
    event exists exactly when the state change it describes does.
    """
    rows = await conn.execute_query_dict(
        _APPEND_SQL,
        [EVENT_LOCK, kind, subject_type, str(subject_id), actor, department_id,
         json.dumps(payload or {}, default=str)],
    )
    return int(rows[0]["id"])


async def since(conn: Any, after_id: int, limit: int = 1000) -> list[EventRecord]:
    """Events with id > after_id, oldest first. `conn` is an asyncpg connection or pool."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2", after_id, limit
    )
    return [EventRecord.from_row(r) for r in rows]


async def last_id(conn: Any) -> int:
    return int(await conn.fetchval("SELECT COALESCE(MAX(id), 0) FROM events"))
