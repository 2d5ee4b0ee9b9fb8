"""The demo city looks like an ordinary day: a year of tickets mostly handled within
their SLA, a handful open now and a few overdue, an event log that agrees with
every row, and the demo operator and supervisor on the shift of the moment."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from db import migrate
from db.seed import city
from db.seed.demo import DEMO_TICKETS, seed_demo
from server.reports.figures import ACK_MET, ACK_MISSED, RESOLVE_MET, RESOLVE_MISSED, SLA_EXPR
from server.tickets.sla import OPEN_STATUSES, state_sql

# A fixed moment, so the year drawn is the same on every run: a Saturday night,
# with the week's complaints in every stage.
NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


@pytest.fixture
async def fresh(empty_db_url: str) -> AsyncIterator[str]:
    """An empty database with the schema, and the ORM on it."""
    from db.orm import close_orm, init_orm

    await migrate.upgrade(empty_db_url)
    await init_orm(empty_db_url, max_size=4)
    yield empty_db_url
    await close_orm()


async def test_a_demo_year_is_mostly_on_time_with_a_handful_open_now(fresh: str) -> None:
    made = await seed_demo(tickets=DEMO_TICKETS, now=NOW)
    assert made["tickets"] == DEMO_TICKETS == 365 * city.TICKETS_PER_DAY
    db = await asyncpg.connect(fresh)
    try:
        span = await db.fetchrow("SELECT min(created_at) AS first, max(created_at) AS last,"
                                 " count(DISTINCT channel) AS channels,"
                                 " count(DISTINCT category_id) AS categories,"
                                 " count(DISTINCT district_id) AS districts,"
                                 " count(DISTINCT department_id) AS departments FROM tickets")
        assert NOW - timedelta(days=366) < span["first"] < NOW - timedelta(days=360)
        assert NOW - timedelta(hours=12) < span["last"] < NOW
        assert span["channels"] == len(city.CHANNEL_SHARES)
        assert span["categories"] == len(city.CATEGORY_SHARES)  # all but the panic button's
        assert span["districts"] == len(city.DISTRICTS)
        assert span["departments"] == len(city.DEPARTMENTS)

        # Now: a handful open, a few of them overdue (the SLA board's judgement).
        now_sql = state_sql("breached").replace("now()", "$1")
        board = await db.fetchrow(
            f"SELECT count(*) FILTER (WHERE t.status = ANY($2::text[])) AS open,"
            f" count(*) FILTER (WHERE {now_sql}) AS overdue FROM tickets t",
            NOW, list(OPEN_STATUSES))
        assert 8 <= board["open"] <= 40, board
        assert 1 <= board["overdue"] <= 6, board

        # The year: most deadlines met, as the reports judge them.
        judged_now = {k: v.replace("$3", "$1") for k, v in (
            ("ack_missed", ACK_MISSED), ("res_missed", RESOLVE_MISSED))}
        sla = await db.fetchrow(
            f"SELECT count(*) FILTER (WHERE {SLA_EXPR} AND {ACK_MET}) AS ack_met,"
            f" count(*) FILTER (WHERE {SLA_EXPR} AND {judged_now['ack_missed']}) AS ack_missed,"
            f" count(*) FILTER (WHERE {SLA_EXPR} AND {RESOLVE_MET}) AS res_met,"
            f" count(*) FILTER (WHERE {SLA_EXPR} AND {judged_now['res_missed']}) AS res_missed"
            " FROM tickets", NOW)
        assert sla["ack_met"] / (sla["ack_met"] + sla["ack_missed"]) > 0.9, sla
        assert sla["res_met"] / (sla["res_met"] + sla["res_missed"]) > 0.85, sla
        closed = await db.fetchval("SELECT count(*) FROM tickets"
                                   " WHERE status IN ('resolved', 'closed')")
        assert closed > 0.75 * DEMO_TICKETS
        await _event_log_agrees_with_the_rows(db)
        events_before = await db.fetchval("SELECT count(*) FROM events")
    finally:
        await db.close()
    again = await seed_demo(tickets=DEMO_TICKETS, now=NOW)
    assert not any(again.values()), again
    db = await asyncpg.connect(fresh)
    try:
        assert await db.fetchval("SELECT count(*) FROM events") == events_before
    finally:
        await db.close()


async def _event_log_agrees_with_the_rows(db: asyncpg.Connection) -> None:
    """Every ticket's events tell the story its row ends in."""
    wrong = await db.fetch("""
        SELECT t.reference, t.status, t.version, e.n, e.bumps, e.last_status, e.first_kind,
               e.first_at = t.created_at AS filed_then, e.acked, e.res_breach, e.ack_breach,
               e.last_at
        FROM tickets t
        JOIN LATERAL (
            SELECT count(*) AS n,
                   count(*) FILTER (WHERE kind NOT IN ('ticket.created',
                                                       'ticket.sla_breached')) AS bumps,
                   (array_agg(payload->>'status' ORDER BY id DESC))[1] AS last_status,
                   (array_agg(kind ORDER BY id))[1] AS first_kind,
                   min(created_at) AS first_at, max(created_at) AS last_at,
                   max(created_at) FILTER (WHERE payload->>'action' = 'acknowledge') AS acked,
                   bool_or(kind = 'ticket.sla_breached' AND payload->'missed' ? 'resolve')
                       AS res_breach,
                   bool_or(kind = 'ticket.sla_breached' AND payload->'missed' ? 'ack')
                       AS ack_breach
            FROM events e WHERE e.subject_type = 'ticket' AND e.subject_id = t.id::text
        ) e ON true
        WHERE t.reference LIKE 'DEMO-%' AND NOT (
            e.first_kind = 'ticket.created' AND e.first_at = t.created_at
            AND e.last_status = t.status AND t.version = 1 + e.bumps
            AND e.acked IS NOT DISTINCT FROM t.acknowledged_at
            AND coalesce(e.res_breach, false) = (t.resolve_breached_at IS NOT NULL)
            AND coalesce(e.ack_breach, false) = (t.ack_breached_at IS NOT NULL)
            AND e.last_at <= $1)
        LIMIT 5""", NOW)
    assert not wrong, [dict(r) for r in wrong]
    # The log is in the order things happened, and resolutions left their notes.
    out_of_order = await db.fetchval("""
        SELECT count(*) FROM (
            SELECT created_at < lag(created_at) OVER (ORDER BY id) AS back
            FROM events WHERE subject_type = 'ticket') x WHERE back""")
    assert out_of_order == 0
    assert await db.fetchval(
        "SELECT count(*) FROM events WHERE payload->>'action' = 'resolve'") == \
        await db.fetchval("SELECT count(*) FROM ticket_notes")
    # What the history endpoint, the timelines and the wall read: the live code's shape.
    sample = await db.fetchrow(
        "SELECT payload, department_id FROM events WHERE payload->>'action' = 'routed'"
        " LIMIT 1")
    payload = json.loads(sample["payload"])
    assert payload["changes"]["status"] == ["triaged", "routed"]
    assert payload["ticket"]["status"] == "routed" and payload["ticket"]["department"]
    assert payload["department_id"] == sample["department_id"]


async def test_tickets_option_is_that_many_at_the_citys_rate(fresh: str) -> None:
    made = await seed_demo(tickets=80, now=NOW)
    assert made["tickets"] == 80
    db = await asyncpg.connect(fresh)
    try:
        first = await db.fetchval("SELECT min(created_at) FROM tickets")
        assert NOW - first <= timedelta(days=80 / city.TICKETS_PER_DAY)
        assert await db.fetchval("SELECT count(*) FROM tickets WHERE status = ANY($1::text[])",
                                 list(OPEN_STATUSES)) >= 5
    finally:
        await db.close()


async def test_demo_operator_and_supervisor_can_check_in_whatever_the_shift(fresh: str) -> None:
    """On any day the seed ran, at any hour, both are rostered on the shift that is
    running (or about to), also on shifts an older seed planned without them."""
    from server.shifts.actors import load_actor
    from server.shifts.presence import check_in, current_assignment_shift
    from server.tickets.calendar import JAKARTA

    await seed_demo(tickets=0, now=NOW)
    later = NOW + timedelta(days=3)
    db = await asyncpg.connect(fresh)
    try:  # as an older seed left them: the day's shifts without the demo accounts
        await seed_demo(tickets=0, now=later - timedelta(days=1))
        await db.execute("DELETE FROM shift_assignments WHERE person_id IN (SELECT id FROM"
                         " people WHERE username IN ('operator', 'supervisor'))"
                         " AND shift_id IN (SELECT id FROM shifts WHERE day >= $1)",
                         (later - timedelta(days=1)).astimezone(JAKARTA).date())
    finally:
        await db.close()
    await seed_demo(tickets=0, now=later)
    for moment in (NOW, later):
        midnight = datetime.combine(moment.astimezone(JAKARTA).date(), datetime.min.time(),
                                    JAKARTA)
        for minutes in range(0, 24 * 60, 20):
            at = midnight + timedelta(minutes=minutes)
            for username in ("operator", "supervisor"):
                actor = await load_actor(username)
                assert await current_assignment_shift(actor.id, at) is not None, (username, at)
    operator = await load_actor("operator")
    done = await check_in(operator, now=later)
    assert done["person"] == "operator" and done["role"] == "call_center"
