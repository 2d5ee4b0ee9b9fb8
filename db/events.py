"""The event log: append inside the caller's transaction, NOTIFY the id, replay by id.

Clients resume from the last event id they saw, which is only safe if ids become
visible in id order. Two concurrent transactions that drew ids 7 and 8 at INSERT
could commit 8 first; a reader that saw 8 and then asks for `id > 8` would never
see 7. So the id is not drawn at INSERT: the row gets a temporary negative id,
and a deferred trigger that runs inside COMMIT takes an advisory lock, gives the
row its real id and NOTIFYs it. Ids therefore commit in order, and the lock is
held only for the commit itself, never across a round trip to the client.
Readers only ever see committed, positive ids.

The NOTIFY is therefore not in this file: it is the trigger
`events_assign_id_at_commit` (function `events_assign_id`) in
db/migrations/0013_event_order_at_commit.sql, which runs
`pg_notify('pantau_events', id)`. What listens and delivers to the screens is
the server's event package, server/events/ (its docstring follows a change
from here to every screen).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

CHANNEL = "pantau_events"
EVENT_LOCK = 0x6576656E74  # "event": taken by the commit-time trigger (0013)

COLUMNS = "id, kind, subject_type, subject_id, actor, department_id, payload, created_at"


@dataclass(frozen=True)
class EventRecord:
    id: int
    kind: str
    subject_type: str
    subject_id: str
    actor: str
    department_id: int | None
    payload_json: str  # the stored payload, as Postgres returned it
    created_at: datetime

    @cached_property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.payload_json) or {}

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

    @cached_property
    def wire(self) -> str:
        """The event message for a subscriber that may see all of it, serialised
        once however many subscribers get it, with the stored payload spliced in
        as it is (never parsed and dumped again): on a busy hub that parsing and
        dumping was a fifth of the server's time per alarm."""
        head = json.dumps({
            "type": "event", "id": self.id, "kind": self.kind,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "actor": self.actor, "department_id": self.department_id,
            "at": self.created_at.isoformat()})
        return f'{head[:-1]}, "payload": {self.payload_json}}}'

    @classmethod
    def from_row(cls, row: Any) -> EventRecord:
        payload = row["payload"]
        if not isinstance(payload, str):
            payload = json.dumps(payload or {}, default=str)
        return cls(
            id=int(row["id"]),
            kind=row["kind"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            actor=row["actor"],
            department_id=row["department_id"],
            payload_json=payload,
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
) -> None:
    """Append one event in the caller's transaction; it is numbered and NOTIFYed
    when that transaction commits, by the trigger of migration 0013 (see the
    module docstring), never if it rolls back.

    `conn` must be the transaction's connection (from `in_transaction()`), so the
    event exists exactly when the state change it describes does.
    """
    await append_many(conn, [(kind, subject_type, subject_id, actor, payload or {},
                              department_id)])


_APPEND_MANY_SQL = """
INSERT INTO events (kind, subject_type, subject_id, actor, department_id, payload)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[])
"""

EventRow = tuple[str, str, object, str, dict[str, Any], "int | None"]


async def append_many(conn: Any, rows: list[EventRow]) -> None:
    """Append several events in one statement, in the caller's transaction; they
    are numbered at COMMIT in this order. `conn` is a Tortoise transaction or an
    asyncpg connection inside a transaction. Each row is
    (kind, subject_type, subject_id, actor, payload, department_id)."""
    if not rows:
        return
    args = [[r[0] for r in rows], [r[1] for r in rows], [str(r[2]) for r in rows],
            [r[3] for r in rows], [r[5] for r in rows],
            [json.dumps(r[4], default=str) for r in rows]]
    if hasattr(conn, "execute_query"):
        await conn.execute_query(_APPEND_MANY_SQL, args)
    else:
        await conn.execute(_APPEND_MANY_SQL, *args)


async def since(conn: Any, after_id: int, limit: int = 1000) -> list[EventRecord]:
    """Events with id > after_id, oldest first. `conn` is an asyncpg connection or pool."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2", after_id, limit
    )
    return [EventRecord.from_row(r) for r in rows]


async def last_id(conn: Any) -> int:
    return int(await conn.fetchval("SELECT COALESCE(MAX(id), 0) FROM events"))
