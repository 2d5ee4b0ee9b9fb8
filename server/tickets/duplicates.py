"""Duplicates: finding them when a ticket arrives, merging them, and undoing a merge.

A candidate has the same category, lies within RADIUS_M metres and was filed
within WINDOW of the ticket. Merging keeps the master: the duplicate becomes
`merged` (pointing at the master), its notes move to the master and its
reporter is listed among the master's reporters (derived from the merged
tickets, so nothing is copied and an unmerge has nothing to clean up). Unmerge
puts the duplicate back in the status it had and moves its own notes back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from server.auth import Principal
from server.errors import bad_request, conflict
from server.tickets import store
from server.tickets.records import iso
from server.tickets.sla import OPEN_STATUSES

RADIUS_M = 250
WINDOW = timedelta(hours=72)
MAX_BULK = 100
# A degree of latitude is ~111 km; at Bandung's latitude a degree of longitude
# is ~110 km, so this box holds the whole circle and lets the index narrow first.
_BOX_DEG = 0.003


def _near_sql(category: str, lat: str, lon: str, at: str, window: str, exclude: str) -> str:
    """Candidates of one ticket, as SQL over the expressions naming its category id,
    position, filing time and its own id (excluded)."""
    return f"""
SELECT * FROM (
  SELECT o.id, o.reference, o.status, o.created_at, o.description,
         6371000 * 2 * asin(sqrt(power(sin(radians(o.lat - {lat}) / 2), 2)
           + cos(radians({lat})) * cos(radians(o.lat))
           * power(sin(radians(o.lon - {lon}) / 2), 2))) AS metres
  FROM tickets o
  WHERE o.category_id = {category}
    AND o.created_at BETWEEN {at} - {window} AND {at} + {window}
    AND o.id <> {exclude} AND o.status NOT IN ('merged', 'rejected')
    AND o.lat BETWEEN {lat} - {_BOX_DEG} AND {lat} + {_BOX_DEG}
    AND o.lon BETWEEN {lon} - {_BOX_DEG} AND {lon} + {_BOX_DEG}
) s WHERE metres <= {RADIUS_M} ORDER BY metres, id LIMIT 10"""


_NEAR = _near_sql("$1", "$2::float8", "$3::float8", "$4::timestamptz", "$5::interval", "$6")
# The same for a batch of new tickets (no id yet) filed at $4.
_NEAR_MANY = f"""
SELECT i.n, s.* FROM unnest($1::int[], $2::float8[], $3::float8[])
     WITH ORDINALITY AS i(category_id, lat, lon, n)
CROSS JOIN LATERAL ({_near_sql("i.category_id", "i.lat", "i.lon", "$4::timestamptz",
                               "$5::interval", "0")}) s
ORDER BY i.n, s.metres, s.id
"""


def _json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": r["id"], "reference": r["reference"], "status": r["status"],
             "created_at": iso(r["created_at"]), "distance_m": round(r["metres"], 1),
             "description": r["description"]} for r in rows]


async def near(conn: BaseDBAsyncClient, category_id: int | None, lat: float | None,
               lon: float | None, at: datetime, exclude_id: int = 0) -> list[dict[str, Any]]:
    """Possible duplicates of a ticket of `category_id` at (lat, lon) filed `at`,
    nearest first; none without a category or coordinates."""
    if category_id is None or lat is None or lon is None:
        return []
    rows = await conn.execute_query_dict(_NEAR, [category_id, lat, lon, at, WINDOW,
                                                 exclude_id])
    return _json(rows)


async def near_many(conn: BaseDBAsyncClient,
                    tickets: list[tuple[int | None, float | None, float | None]],
                    at: datetime) -> list[list[dict[str, Any]]]:
    """`near` for each (category id, lat, lon) of a batch of new tickets filed `at`,
    in one round trip."""
    out: list[list[dict[str, Any]]] = [[] for _ in tickets]
    wanted = [(i, t) for i, t in enumerate(tickets) if None not in t]
    if not wanted:
        return out
    rows = await conn.execute_query_dict(_NEAR_MANY, [
        [t[0] for _, t in wanted], [t[1] for _, t in wanted], [t[2] for _, t in wanted],
        at, WINDOW])
    for r in rows:
        out[wanted[int(r["n"]) - 1][0]].append(r)
    return [_json(rows) for rows in out]


async def candidates(conn: BaseDBAsyncClient, ticket_id: int) -> list[dict[str, Any]]:
    """Possible duplicates of a stored ticket, nearest first."""
    rows = await conn.execute_query_dict(
        "SELECT category_id, lat, lon, created_at FROM tickets WHERE id = $1", [ticket_id])
    if not rows:
        return []
    t = rows[0]
    return await near(conn, t["category_id"], t["lat"], t["lon"], t["created_at"], ticket_id)


async def co_reporters(conn: BaseDBAsyncClient, ticket_id: int) -> list[dict[str, Any]]:
    """Reporters of the tickets merged into this one."""
    rows = await conn.execute_query_dict(
        "SELECT reference, reporter_name, reporter_phone, reporter_email, anonymous"
        " FROM tickets WHERE merged_into_id = $1 ORDER BY id", [ticket_id])
    return [{"reference": r["reference"], "name": r["reporter_name"],
             "phone": r["reporter_phone"], "email": r["reporter_email"]}
            for r in rows if not r["anonymous"]]


def _check_master(master: dict[str, Any]) -> None:
    if master["status"] in ("merged", "rejected"):
        raise conflict(f"cannot merge into a ticket that is {master['status']}",
                       "invalid_transition")


async def _merge_locked(tx: BaseDBAsyncClient, child: dict[str, Any],
                        master: dict[str, Any]) -> None:
    if child["id"] == master["id"]:
        raise bad_request("a ticket cannot be merged into itself", {"into": "same ticket"})
    store.require_status(child, OPEN_STATUSES, "merge")
    _check_master(master)
    await store.update(tx, child["id"], {"status": "merged", "merged_into_id": master["id"],
                                         "merged_from_status": child["status"],
                                         "sla_paused_at": None})
    await tx.execute_query("UPDATE ticket_notes SET ticket_id = $2 WHERE ticket_id = $1",
                           [child["id"], master["id"]])


async def _lock_all(tx: BaseDBAsyncClient, ids: list[int], principal: Principal
                    ) -> dict[int, dict[str, Any]]:
    """Lock tickets in id order, so two merges over the same tickets cannot deadlock."""
    return {i: await store.locked(tx, i, principal) for i in sorted(set(ids))}


async def merge(child_id: int, into_id: int, principal: Principal,
                version: int) -> dict[str, Any]:
    store.require_operator(principal, "merge")
    async with in_transaction() as tx:
        rows = await _lock_all(tx, [child_id, into_id], principal)
        child, master = rows[child_id], rows[into_id]
        store.check_version(child, version)
        await _merge_locked(tx, child, master)
        return await store.commit(tx, child, child_id, "ticket.merged", principal.actor,
                                  into=master["reference"], into_id=into_id)


async def bulk_merge(into_id: int, ids: list[int], principal: Principal) -> list[dict[str, Any]]:
    """Merge many duplicates into one master: all of them or none."""
    store.require_operator(principal, "merge")
    if not ids or len(ids) > MAX_BULK:
        raise bad_request(f"give 1 to {MAX_BULK} ticket ids", {"ids": f"1 to {MAX_BULK} ids"})
    async with in_transaction() as tx:
        rows = await _lock_all(tx, [into_id, *ids], principal)
        master = rows[into_id]
        children = [rows[i] for i in dict.fromkeys(ids)]
        for child in children:
            await _merge_locked(tx, child, master)
        # The appends come last, after every state row is written.
        return [await store.commit(tx, child, child["id"], "ticket.merged", principal.actor,
                                   into=master["reference"], into_id=into_id, bulk=True)
                for child in children]


async def unmerge(child_id: int, principal: Principal,
                  version: int | None = None) -> dict[str, Any]:
    store.require_operator(principal, "unmerge")
    async with in_transaction() as tx:
        child = await store.locked(tx, child_id, principal, version)
        if child["status"] != "merged":
            raise conflict("only a merged ticket can be unmerged", "invalid_transition")
        await store.update(tx, child_id, {"status": child["merged_from_status"] or "triaged",
                                          "merged_into_id": None, "merged_from_status": ""})
        await tx.execute_query(
            "UPDATE ticket_notes SET ticket_id = $1 WHERE origin_ticket_id = $1", [child_id])
        return await store.commit(tx, child, child_id, "ticket.unmerged", principal.actor,
                                  from_reference=child["m_reference"])
