"""Property: random sequences of ticket actions never reach an invalid state and
never lose an event.

Hypothesis draws sequences of actions (each with a fresh or a stale version)
against the real service layer and Postgres. After every step:
- a refused action (4xx) changed nothing: same row, no new event;
- an accepted action appended the events that describe it, the last one carrying
  exactly the ticket the action returned, and bumped the version by one (notes
  excepted);
- the status is allowed for the action per the lifecycle in the issue (a table
  written here independently of server/tickets/lifecycle.py), and the row obeys
  the invariants (merged <=> merged_into; routed/acknowledged/in_progress <=> a
  department; acknowledged/in_progress => acknowledged_at; an answer deadline
  exactly when its clock has started).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.orm import close_orm, init_orm
from server.auth import Principal
from server.errors import ApiError
from server.tickets import duplicates, intake, lifecycle, notes

OPEN = {"new", "triaged", "routed", "acknowledged", "in_progress"}
# action -> statuses it may start from (the lifecycle)
ALLOWED_FROM = {
    "triage": OPEN, "route": OPEN, "acknowledge": {"routed"}, "start": {"acknowledged"},
    "resolve": {"acknowledged", "in_progress"}, "close": {"resolved"},
    "reject": {"new", "triaged", "routed"}, "reopen": {"resolved", "closed", "rejected"},
    "refuse": {"routed", "acknowledged"}, "merge": OPEN, "unmerge": {"merged"},
    "pause": OPEN, "resume": OPEN, "note": OPEN | {"resolved", "closed", "rejected", "merged"},
}
ACTIONS = sorted(ALLOWED_FROM)

step = st.tuples(st.sampled_from(ACTIONS), st.booleans(),
                 st.sampled_from(["dsdabm", "dishub", None]), st.integers(1, 4))


async def _state(conn: asyncpg.Connection, tid: int) -> tuple[dict[str, Any], int]:
    row = dict(await conn.fetchrow("SELECT * FROM tickets WHERE id = $1", tid))
    last = await conn.fetchval(
        "SELECT COALESCE(max(id), 0) FROM events WHERE subject_type = 'ticket'"
        " AND subject_id = $1", str(tid))
    return row, int(last)


def _check_invariants(row: dict[str, Any]) -> None:
    assert (row["status"] == "merged") == (row["merged_into_id"] is not None)
    if row["status"] in ("routed", "acknowledged", "in_progress"):
        assert row["department_id"] is not None, row
    if row["status"] in ("acknowledged", "in_progress"):
        assert row["acknowledged_at"] is not None, row
    if row["status"] in ("new", "triaged"):
        assert row["department_id"] is None, row
    assert row["ack_due_at"] is not None
    # The second clock runs for an emergency from the call, for a complaint from
    # its routing (server/tickets/sla.py).
    assert (row["resolve_due_at"] is not None) == (row["priority"] <= 2
                                                   or row["department_id"] is not None), row


async def _run(db_url: str, steps: list[tuple[str, bool, str | None, int]]) -> None:
    await init_orm(db_url, max_size=3)
    conn = await asyncpg.connect(db_url)
    try:
        op_id = await conn.fetchval("SELECT id FROM people WHERE username = 'operator'")
        op = Principal("person", op_id, "operator", frozenset({"call_center"}))
        new = intake.NewTicket(channel="web", description="Pohon tumbang",
                               category="pohon-tumbang", lat=-6.9, lon=107.61)
        tid = (await intake.create_ticket(new, op))["id"]
        master = (await intake.create_ticket(new, op))["id"]
        for action, stale, dept, prio in steps:
            before, last_event = await _state(conn, tid)
            version = before["version"] - 1 if stale else before["version"]
            try:
                if action == "triage":
                    got = await lifecycle.triage(tid, op, version, priority=prio)
                elif action == "route":
                    got = await lifecycle.route(tid, op, version, dept)
                elif action == "note":
                    got = (await notes.add_note(tid, op, "catatan"))["ticket"]
                elif action == "merge":
                    got = await duplicates.merge(tid, master, op, version)
                elif action == "unmerge":
                    got = await duplicates.unmerge(tid, op, version)
                else:
                    got = await lifecycle.act(tid, action, op, version, note="n", reason="r")
            except ApiError as exc:
                after, after_event = await _state(conn, tid)
                assert exc.status in (400, 409), exc.text
                assert after == before and after_event == last_event, (action, exc.text)
                if exc.status == 409 and exc.body_json["error"] == "invalid_transition":
                    # Refused only when the lifecycle (or a no-op) says so.
                    assert (before["status"] not in ALLOWED_FROM[action]
                            or action in ("route", "pause", "resume")), (action, before)
                continue
            after, after_event = await _state(conn, tid)
            assert before["status"] in ALLOWED_FROM[action], (action, before["status"])
            assert not (stale and action not in ("note",)), "a stale version was accepted"
            bump = 0 if action == "note" else 1
            assert after["version"] == before["version"] + bump
            assert got["version"] == after["version"] and got["status"] == after["status"]
            rows = await conn.fetch(
                "SELECT kind, payload FROM events WHERE subject_type = 'ticket'"
                " AND subject_id = $1 AND id > $2 ORDER BY id", str(tid), last_event)
            assert rows, f"{action} appended no event"
            payload = json.loads(rows[0]["payload"])
            assert payload["ticket"]["version"] == got["version"]
            assert payload["ticket"]["status"] == got["status"]
            assert payload["status"] == after["status"]
            _check_invariants(after)
        # Nothing lost: every event of the ticket is in order, and its last event
        # describes the ticket as it is now.
        final, _ = await _state(conn, tid)
        last = await conn.fetchrow(
            "SELECT payload FROM events WHERE subject_type = 'ticket' AND subject_id = $1"
            " AND kind <> 'ticket.routed_away' ORDER BY id DESC LIMIT 1", str(tid))
        assert json.loads(last["payload"])["ticket"]["version"] == final["version"]
    finally:
        await conn.close()
        await close_orm()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=20))
def test_random_action_sequences_keep_tickets_valid(db_url: str,
                                                    steps: list[tuple[Any, ...]]) -> None:
    asyncio.run(_run(db_url, steps))  # type: ignore[arg-type]
