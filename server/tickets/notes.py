"""Ticket notes: free text from operators and department staff, never edited or deleted.

A note remembers the ticket it was written on (origin_ticket_id): merging
duplicates moves notes to the master and unmerging moves exactly those back.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from server.auth import Principal
from server.errors import bad_request
from server.tickets import store
from server.tickets.records import iso

MAX_NOTE = 5000

_INSERT = """
INSERT INTO ticket_notes (ticket_id, origin_ticket_id, author_id, body)
VALUES ($1, $1, $2, $3) RETURNING id, created_at
"""


def check_body(body: str) -> str:
    body = body.strip()
    if "\x00" in body:
        raise bad_request("a note must not contain NUL characters",
                          {"body": "must not contain NUL characters"})
    if not body:
        raise bad_request("a note must not be empty", {"body": "must not be empty"})
    if len(body) > MAX_NOTE:
        raise bad_request(f"a note is at most {MAX_NOTE} characters",
                          {"body": f"at most {MAX_NOTE} characters"})
    return body


async def insert_note(tx: BaseDBAsyncClient, ticket_id: int, author_id: int | None,
                      body: str) -> dict[str, Any]:
    """Write a note inside the caller's transaction; returns its JSON."""
    body = check_body(body)
    rows = await tx.execute_query_dict(_INSERT, [ticket_id, author_id, body])
    return {"id": rows[0]["id"], "ticket_id": ticket_id, "author_id": author_id,
            "body": body, "created_at": iso(rows[0]["created_at"])}


async def add_note(ticket_id: int, principal: Principal, body: str) -> dict[str, Any]:
    """A note on its own: the ticket's version does not change (a note never conflicts)."""
    body = check_body(body)
    async with in_transaction() as tx:
        row = await store.locked(tx, ticket_id, principal)
        note = await insert_note(tx, ticket_id, principal.id if principal.kind == "person"
                                 else None, body)
        ticket = await store.commit(tx, row, ticket_id, "ticket.note_added", principal.actor,
                                    note=note, action="note")
    return {"note": note, "ticket": ticket}


async def list_notes(conn: BaseDBAsyncClient, ticket_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute_query_dict(
        "SELECT n.id, n.body, n.created_at, n.origin_ticket_id, p.username, p.full_name,"
        " o.reference AS origin_reference"
        " FROM ticket_notes n LEFT JOIN people p ON p.id = n.author_id"
        " LEFT JOIN tickets o ON o.id = n.origin_ticket_id"
        " WHERE n.ticket_id = $1 ORDER BY n.id", [ticket_id])
    return [{"id": r["id"], "body": r["body"], "created_at": iso(r["created_at"]),
             "author": ({"username": r["username"], "full_name": r["full_name"]}
                        if r["username"] else None),
             "origin_reference": r["origin_reference"]} for r in rows]
