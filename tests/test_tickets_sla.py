"""SLA: the working-day calendar, due times per family, the SLA state in Python
and in SQL agreeing, and the scheduler raising each breach exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from server.tickets import calendar, sla
from server.tickets.calendar import JAKARTA, add_working_days, holiday_name, is_working_day
from server.tickets.scheduler import scan
from server.tickets.sla import Policy, due_times
from tests.conftest import Api, base_of, next_event, start_app


def jkt(*args: int) -> datetime:
    return datetime(*args, tzinfo=JAKARTA)  # type: ignore[misc]


def test_weekends_and_public_holidays_are_not_working_days() -> None:
    assert is_working_day(jkt(2026, 11, 27).date())  # a Friday
    assert not is_working_day(jkt(2026, 11, 28).date())  # Saturday
    assert not is_working_day(jkt(2026, 8, 17).date())  # Independence Day (Monday)
    assert not is_working_day(jkt(2026, 3, 19).date())  # Nyepi (Thursday)
    assert not is_working_day(jkt(2027, 12, 25).date())  # fixed-date holiday, any year


def test_moving_holidays_of_any_year_come_from_the_maintained_calendar() -> None:
    """The old hand-made table ended in 2026: from 2027 on, Idul Fitri was a
    working day and SLA dates were silently wrong."""
    assert holiday_name(date(2027, 3, 10)) is not None  # Idul Fitri 1448 H (Wednesday)
    assert not is_working_day(date(2027, 3, 10))
    assert not is_working_day(date(2027, 5, 6))  # Ascension Day 2027 (Thursday)
    assert not is_working_day(date(2030, 2, 4))  # Idul Fitri 1451 H (Monday)
    assert not is_working_day(date(2030, 4, 19))  # Good Friday 2030
    assert is_working_day(date(2030, 2, 6))  # an ordinary Wednesday
    # Tuesday 9 March 2027 + 1 working day: Wednesday and Thursday are Idul Fitri.
    assert add_working_days(jkt(2027, 3, 9, 10), 1) == jkt(2027, 3, 12, 10)
    # Friday 1 February 2030 + 1: Monday and Tuesday are Idul Fitri.
    assert add_working_days(jkt(2030, 2, 1, 10), 1) == jkt(2030, 2, 6, 10)


def test_the_citys_own_days_off_are_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.settings import Settings

    monkeypatch.setenv("PANTAU_CITY_HOLIDAYS", "2026-12-24, 2027-01-04")
    days = Settings().city_holidays
    assert days == {date(2026, 12, 24), date(2027, 1, 4)}
    assert is_working_day(date(2026, 12, 24))  # not until the server uses them
    calendar.use_city_holidays(days)
    try:
        assert not is_working_day(date(2026, 12, 24))
        assert holiday_name(date(2027, 1, 4)) == "city holiday"
        # Wednesday 23 Dec + 1: 24th city day off, 25th Christmas, weekend, 28th.
        assert add_working_days(jkt(2026, 12, 23, 9), 1) == jkt(2026, 12, 28, 9)
    finally:
        calendar.use_city_holidays(())
    monkeypatch.setenv("PANTAU_CITY_HOLIDAYS", "2026-12-24,24/12/2026")
    with pytest.raises(SystemExit, match="'24/12/2026' is not a YYYY-MM-DD date"):
        Settings()


def test_working_days_skip_weekends_and_holidays() -> None:
    # Friday 10:00 + 3 working days = Wednesday 10:00.
    assert add_working_days(jkt(2026, 11, 27, 10), 3) == jkt(2026, 12, 2, 10)
    # Saturday counts from Monday 00:00: + 1 working day = Tuesday 00:00.
    assert add_working_days(jkt(2026, 11, 28, 15), 1) == jkt(2026, 12, 1, 0)
    # Friday 14 Aug 2026 + 1: Monday 17 Aug is Independence Day, so Tuesday.
    assert add_working_days(jkt(2026, 8, 14, 9), 1) == jkt(2026, 8, 18, 9)
    # Christmas Eve (Thursday) + 1: the 25th is a holiday, then a weekend.
    assert add_working_days(jkt(2026, 12, 24, 9), 1) == jkt(2026, 12, 28, 9)


def test_emergencies_in_minutes_complaints_in_working_days() -> None:
    policy = Policy(ack_minutes=5, dispatch_minutes=20, verify_days=3, resolve_days=5)
    start = jkt(2026, 11, 27, 10).astimezone(UTC)  # a Friday
    routed = jkt(2026, 11, 30, 9).astimezone(UTC)  # the Monday after
    # Emergencies: both deadlines from the call, whenever it was routed.
    ack, dispatch = due_times(1, policy, submitted=start, routed=routed)
    assert ack - start == timedelta(minutes=5) and dispatch - start == timedelta(minutes=20)
    # Complaints (LAPOR!): verified in 3 working days of submission; no answer
    # deadline before routing, then 5 working days from routing.
    assert due_times(3, policy, submitted=start) == (jkt(2026, 12, 2, 10), None)
    ack, resolve = due_times(3, policy, submitted=start, routed=routed)
    assert ack == jkt(2026, 12, 2, 10) and resolve == jkt(2026, 12, 7, 9)
    # Waiting on the reporter moves a deadline only by the wait while it ran.
    ack2, resolve2 = due_times(3, policy, submitted=start, routed=routed,
                               paused_seconds=5400, routed_paused_seconds=1800)
    assert ack2 - ack == timedelta(seconds=5400) and resolve2 - resolve == timedelta(hours=1)


def _row(**over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    row = {"status": "routed", "priority": 3, "acknowledged_at": None, "sla_paused_at": None,
           "created_at": now - timedelta(hours=10), "ack_due_at": now + timedelta(hours=10),
           "resolve_due_at": now + timedelta(hours=20)}
    row.update(over)
    return row


def test_sla_state_rules() -> None:
    now = datetime.now(UTC)
    assert sla.sla_state(_row(), now) == "ok"
    assert sla.sla_state(_row(ack_due_at=now + timedelta(hours=1)), now) == "due_soon"
    assert sla.sla_state(_row(ack_due_at=now - timedelta(minutes=1)), now) == "breached"
    # An acknowledged ticket no longer runs the ack clock.
    assert sla.sla_state(_row(status="acknowledged", acknowledged_at=now,
                              ack_due_at=now - timedelta(hours=1)), now) == "ok"
    # An emergency meets its second deadline on dispatch.
    assert sla.sla_state(_row(status="in_progress", priority=1, acknowledged_at=now,
                              resolve_due_at=now - timedelta(hours=1)), now) == "ok"
    assert sla.sla_state(_row(status="in_progress", priority=3, acknowledged_at=now,
                              resolve_due_at=now - timedelta(hours=1)), now) == "breached"
    assert sla.sla_state(_row(sla_paused_at=now, ack_due_at=now - timedelta(hours=1)),
                         now) == "paused"
    assert sla.sla_state(_row(status="resolved", ack_due_at=now - timedelta(hours=1)),
                         now) == "met"


async def test_sql_sla_filter_agrees_with_the_ticket_json(api: Api, orm: str) -> None:
    """Tickets in every SLA state (and windows that start at routing, not at
    submission): each sla= page must hold exactly the tickets whose JSON says
    that state."""
    async with in_transaction() as tx:
        await tx.execute_query(
            "INSERT INTO tickets (reference, channel, priority, status, description,"
            " department_id, acknowledged_at, sla_paused_at, created_at, routed_at,"
            " ack_due_at, resolve_due_at)"
            " SELECT 'STATE-' || k, 'web', p, st, 'state', CASE WHEN st = 'new' THEN NULL"
            " ELSE (SELECT id FROM departments WHERE code = 'dlh') END,"
            " CASE WHEN st IN ('acknowledged', 'in_progress') THEN now() END,"
            " CASE WHEN paused THEN now() END, now() - make_interval(hours => age),"
            " CASE WHEN st = 'new' THEN NULL ELSE now() - make_interval(mins => routed) END,"
            " now() + make_interval(mins => ack), now() + make_interval(mins => res)"
            " FROM (VALUES (1, 3, 'routed', false, 10, 0, -60, 600),"  # ack missed
            "              (2, 3, 'new', false, 10, 0, 60, 3000),"  # ack due within the hour
            "              (3, 3, 'routed', false, 1, 30, 600, 3000),"  # ok
            "              (4, 3, 'routed', true, 10, 0, -60, 600),"  # paused
            "              (5, 3, 'acknowledged', false, 720, 90, -600, 30),"  # ok: routed 1.5h
            "              (6, 3, 'acknowledged', false, 720, 90, -600, 10),"  # due soon
            "              (7, 1, 'in_progress', false, 1, 30, -30, -10))"  # dispatched: ok
            " AS v(k, p, st, paused, age, routed, ack, res)")
    op = api.as_user(await api.login("operator"))
    seen: dict[str, set[int]] = {}
    for state in ("ok", "due_soon", "breached", "paused"):
        s, page = await op.get(f"/api/tickets?sla={state}&limit=200")
        assert s == 200, page
        assert all(t["sla_state"] == state for t in page["items"]), state
        seen[state] = {t["id"] for t in page["items"]}
    s, everything = await op.get("/api/tickets?limit=200")
    by_state: dict[str, set[int]] = {}
    for t in everything["items"]:
        by_state.setdefault(t["sla_state"], set()).add(t["id"])
    for state, ids in by_state.items():
        assert seen.get(state, set()) == ids, state
    assert {"ok", "due_soon", "breached", "paused"} <= set(by_state)
    states = {t["reference"]: t["sla_state"] for t in everything["items"]
              if t["reference"].startswith("STATE-")}
    assert states == {"STATE-1": "breached", "STATE-2": "due_soon", "STATE-3": "ok",
                      "STATE-4": "paused", "STATE-5": "ok", "STATE-6": "due_soon",
                      "STATE-7": "ok"}


async def _new_overdue(db_url: str, priority: int = 3, status: str = "routed") -> int:
    """A ticket whose ack deadline passed a minute ago (written directly); a merged
    one points at the first demo ticket."""
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            "INSERT INTO tickets (reference, channel, priority, status, description,"
            " department_id, ack_due_at, resolve_due_at, created_at, merged_into_id)"
            " SELECT 'SLA-TEST-' || md5(random()::text),"
            " 'web', $1, $2, 'overdue', id, now() - interval '1 minute',"
            " now() + interval '1 hour', now() - interval '1 hour',"
            " CASE WHEN $2 = 'merged' THEN (SELECT min(id) FROM tickets) END"
            " FROM departments WHERE code = 'dsdabm' RETURNING id", [priority, status])
    return int(rows[0]["id"])


async def _breach_events(db_url: str, ticket_id: int) -> list[Any]:
    conn = await asyncpg.connect(db_url)
    try:
        return list(await conn.fetch(
            "SELECT payload FROM events WHERE kind = 'ticket.sla_breached'"
            " AND subject_id = $1", str(ticket_id)))
    finally:
        await conn.close()


async def test_each_breach_is_raised_once_and_never_for_resolved(orm: str) -> None:
    overdue = await _new_overdue(orm)
    resolved = await _new_overdue(orm, status="resolved")
    paused = await _new_overdue(orm)
    merged_into = await _new_overdue(orm, status="merged")
    async with in_transaction() as tx:
        await tx.execute_query("UPDATE tickets SET sla_paused_at = now() WHERE id = $1",
                               [paused])
    raced = await asyncio.gather(scan(), scan())  # two server processes at once
    assert sum(raced) >= 1
    assert len(await _breach_events(orm, overdue)) == 1
    assert await _breach_events(orm, resolved) == []
    assert await _breach_events(orm, paused) == []
    assert await _breach_events(orm, merged_into) == []
    await scan()
    assert len(await _breach_events(orm, overdue)) == 1
    # The resolve deadline is a second, separate breach.
    later = datetime.now(UTC) + timedelta(hours=2)
    await scan(later)
    events = await _breach_events(orm, overdue)
    assert len(events) == 2


@pytest.fixture
async def fast_sla(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setenv("PANTAU_SLA_SCAN_SECONDS", "0.3")
    yield


async def test_the_server_runs_the_scheduler(fast_sla: None, db_url: str) -> None:
    import aiohttp

    srv = await start_app(db_url)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(base_of(srv), session)
            token = await api.login("dsdabm.staff")
            ws = await api.ws(token=token)
            await ws.receive_json()
            ticket_id = await _new_overdue(db_url)
            ev = await next_event(ws, "ticket.sla_breached", timeout=10)
            while ev["subject"]["id"] != str(ticket_id):
                ev = await next_event(ws, "ticket.sla_breached", timeout=10)
            assert ev["payload"]["missed"] == ["ack"] and ev["actor"] == "system:sla"
            await ws.close()
    finally:
        await srv.close()


async def test_the_server_skips_the_citys_days_off(monkeypatch: pytest.MonkeyPatch,
                                                   db_url: str) -> None:
    """PANTAU_CITY_HOLIDAYS reaches the due times of a complaint filed through the API."""
    import aiohttp

    today = datetime.now(JAKARTA).date()
    days_off = [today + timedelta(days=d) for d in range(1, 15)]
    monkeypatch.setenv("PANTAU_CITY_HOLIDAYS", ",".join(d.isoformat() for d in days_off))
    srv = await start_app(db_url)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(base_of(srv), session)
            op = api.as_user(await api.login("operator"))
            status, t = await op.post("/api/tickets", {
                "channel": "web", "description": "Lampu jalan mati", "category": "lampu-jalan",
                "district": "coblong"})
            assert status == 201 and t["priority"] == 4, t
            ack_due = datetime.fromisoformat(t["ack_due_at"]).astimezone(JAKARTA).date()
            assert ack_due > days_off[-1]
    finally:
        await srv.close()
        calendar.use_city_holidays(())


async def _old_ticket(orm: str, *, days: int, priority: int = 3, category: str = "sampah",
                      department: str | None = None) -> int:
    """A ticket loaded the way a seed or an import loads one: filed `days` ago,
    with due times of its own and no clock columns set."""
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(
            "INSERT INTO tickets (reference, channel, category_id, priority, status,"
            " description, district_id, department_id, ack_due_at, resolve_due_at,"
            " created_at, updated_at)"
            " SELECT 'OLD-' || md5(random()::text), 'web', c.id, $2, $3, 'old complaint',"
            " (SELECT id FROM districts WHERE code = 'coblong'),"
            " (SELECT id FROM departments WHERE code = $4),"
            " now() - make_interval(days => $1) + interval '3 days',"
            " now() - make_interval(days => $1) + interval '8 days',"
            " now() - make_interval(days => $1), now() - make_interval(days => $1)"
            " FROM categories c WHERE c.code = $5 RETURNING id, created_at",
            [days, priority, "routed" if department else "new", department, category])
    return int(rows[0]["id"])


async def _row_of(ticket_id: int) -> dict[str, Any]:
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict("SELECT * FROM tickets WHERE id = $1", [ticket_id])
    return rows[0]


async def test_triage_never_restarts_a_clock(api: Api, orm: str) -> None:
    """DEMO-00272 went from -26d to 2m when triaged: the recompute started the
    clock at the moment the seed had loaded the row."""
    op = api.as_user(await api.login("operator"))
    ticket_id = await _old_ticket(orm, days=26)
    created = (await _row_of(ticket_id))["created_at"]
    s, t = await op.get(f"/api/tickets/{ticket_id}")
    s, t = await op.post(f"/api/tickets/{ticket_id}/triage", {"version": t["version"]})
    assert s == 200, t
    ack_due = datetime.fromisoformat(t["ack_due_at"])
    assert ack_due == add_working_days(created, 3)  # DLH verifies in 3 working days
    assert ack_due < datetime.now(UTC) - timedelta(days=15)
    assert t["sla_state"] == "breached" and t["resolve_due_at"] is None  # not routed yet
    # A priority change changes the length, not the start: P2 is due 60 minutes
    # (DLH's sla_ack_minutes) after the complaint came in, 26 days ago.
    s, t = await op.post(f"/api/tickets/{ticket_id}/triage",
                         {"version": t["version"], "priority": 2})
    assert datetime.fromisoformat(t["ack_due_at"]) == created + timedelta(minutes=60)
    assert datetime.fromisoformat(t["resolve_due_at"]) == created + timedelta(minutes=30)
    # and so does a category change (another department's policy)
    s, t = await op.post(f"/api/tickets/{ticket_id}/triage",
                         {"version": t["version"], "priority": 3, "category": "jalan-rusak"})
    assert datetime.fromisoformat(t["ack_due_at"]) == add_working_days(created, 3)
    # the miss stays one miss: triaging an overdue ticket does not re-arm its breach
    await scan()
    s, t = await op.post(f"/api/tickets/{ticket_id}/triage",
                         {"version": t["version"], "tags": ["checked"]})
    assert (await _row_of(ticket_id))["ack_breached_at"] is not None
    assert await scan() == 0 and len(await _breach_events(orm, ticket_id)) == 1


async def test_routing_starts_the_departments_clock(api: Api, orm: str) -> None:
    op = api.as_user(await api.login("operator"))
    ticket_id = await _old_ticket(orm, days=10)
    created = (await _row_of(ticket_id))["created_at"]
    s, t = await op.get(f"/api/tickets/{ticket_id}")
    s, t = await op.post(f"/api/tickets/{ticket_id}/route", {"version": t["version"]})
    assert s == 200 and t["department"]["code"] == "dlh"
    row = await _row_of(ticket_id)
    routed = row["routed_at"]
    assert datetime.now(UTC) - routed < timedelta(minutes=1)
    # verification was due 3 working days after submission (long missed); the
    # answer is due 5 working days (DLH) after routing, i.e. in the future
    assert datetime.fromisoformat(t["ack_due_at"]) == add_working_days(created, 3)
    assert datetime.fromisoformat(t["resolve_due_at"]) == add_working_days(routed, 5)
    # a department that refuses stops its clock; the next one gets its own time
    staff = api.as_user(await api.login("dlh.staff"))
    s, t = await staff.post(f"/api/tickets/{ticket_id}/refuse",
                            {"version": t["version"], "reason": "bukan wewenang"})
    assert s == 200 and t["resolve_due_at"] is None
    s, t = await op.post(f"/api/tickets/{ticket_id}/route",
                         {"version": t["version"], "department": "dsdabm"})
    rerouted = (await _row_of(ticket_id))["routed_at"]
    assert rerouted > routed
    assert datetime.fromisoformat(t["resolve_due_at"]) == add_working_days(rerouted, 5)
    # a ticket waiting on its reporter before routing: the wait does not lengthen
    # the answer's clock, which had not started
    other = await _old_ticket(orm, days=1)
    s, t = await op.get(f"/api/tickets/{other}")
    s, t = await op.post(f"/api/tickets/{other}/pause", {"version": t["version"]})
    async with in_transaction() as tx:  # the wait began an hour ago
        await tx.execute_query("UPDATE tickets SET sla_paused_at = now() - interval '1 hour'"
                               " WHERE id = $1", [other])
    s, t = await op.post(f"/api/tickets/{other}/route", {"version": t["version"]})
    row = await _row_of(other)
    assert row["sla_paused_at"] is None and row["sla_paused_seconds"] >= 3600
    assert row["routed_paused_seconds"] == row["sla_paused_seconds"]
    assert datetime.fromisoformat(t["resolve_due_at"]) == add_working_days(row["routed_at"], 5)
    assert datetime.fromisoformat(t["ack_due_at"]) == add_working_days(
        row["created_at"], 3) + timedelta(seconds=row["sla_paused_seconds"])


async def test_an_emergency_is_timed_from_the_call(api: Api, orm: str) -> None:
    op = api.as_user(await api.login("operator"))
    s, t = await op.post("/api/calls", {"caller_number": "081233334444",
                                        "what_happened": "Kebakaran gudang",
                                        "location": "Jl. Cihampelas", "category": "kebakaran"})
    created = datetime.fromisoformat(t["created_at"])
    s, t = await op.post(f"/api/tickets/{t['id']}/triage", {"version": t["version"]})
    s, t = await op.post(f"/api/tickets/{t['id']}/route", {"version": t["version"]})
    assert s == 200 and t["department"]["code"] == "diskar"
    assert datetime.fromisoformat(t["ack_due_at"]) == created + timedelta(minutes=5)
    assert datetime.fromisoformat(t["resolve_due_at"]) == created + timedelta(minutes=30)
