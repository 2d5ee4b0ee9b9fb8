"""Tickets through the REST API: intake, triage, routing, the status lifecycle,
optimistic concurrency, refusal, notes, history and the events they append."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from tests.conftest import Api, next_event

NEAR_ALUN_ALUN = {"lat": -6.9218, "lon": 107.6070}


async def _operator(api: Api) -> Api:
    return api.as_user(await api.login("operator"))


async def _new(op: Api, **over: Any) -> dict[str, Any]:
    body = {"channel": "cctv", "description": "Jalan berlubang besar di depan alun-alun",
            "category": "jalan-rusak", **NEAR_ALUN_ALUN, **over}
    status, ticket = await op.post("/api/tickets", body)
    assert status == 201, ticket
    return ticket  # type: ignore[no-any-return]


async def _count_events(db_url: str, ticket_id: int) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM events WHERE subject_type = 'ticket' AND subject_id = $1",
            str(ticket_id)))
    finally:
        await conn.close()


async def test_intake_sets_reference_district_suggestion_and_due_times(api: Api) -> None:
    op = await _operator(api)
    t = await _new(op)
    assert t["reference"].startswith("BDG-") and len(t["reference"]) == len("BDG-2611-00001")
    assert t["status"] == "new" and t["channel"] == "cctv" and t["version"] == 1
    assert t["district"]["code"] == "sumur-bandung"  # nearest district centre
    assert t["suggested_department"]["code"] == "dsdabm" and t["department"] is None
    assert t["priority"] == 3  # the category's default
    # verification is due; the department's answer clock starts when it is routed
    assert t["ack_due_at"] and t["resolve_due_at"] is None and t["sla_state"] == "ok"
    second = await _new(op)
    assert int(second["reference"][-5:]) == int(t["reference"][-5:]) + 1
    assert t["reference"] in second["duplicate_candidates"]
    status, got = await op.get(f"/api/tickets/{t['reference']}")
    assert status == 200 and got["id"] == t["id"]


async def test_bad_input_names_every_field_and_stores_nothing(api: Api, db_url: str) -> None:
    op = await _operator(api)
    status, body = await op.post("/api/tickets", {
        "channel": "fax", "description": "", "lat": 91, "lon": 500, "category": "nope",
        "priority": 7, "reporter": {"email": 5}})
    assert status == 400
    assert {"channel", "description", "lat", "lon", "priority", "reporter.email"} <= set(
        body["fields"])
    status, body = await op.post("/api/tickets", {
        "channel": "web", "description": "x" * 5001, "address": "Jl. Braga"})
    assert status == 400 and "description" in body["fields"]
    status, body = await op.post("/api/tickets", {
        "channel": "web", "description": "ok", "address": "Jl. Braga", "category": "nope"})
    assert status == 400 and body["fields"] == {"category": "unknown category 'nope'"}
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval(
            "SELECT count(*) FROM tickets WHERE reference LIKE 'BDG-%'") == 0
    finally:
        await conn.close()


async def test_full_lifecycle_with_department_staff(api: Api, db_url: str) -> None:
    op = await _operator(api)
    staff = api.as_user(await api.login("dsdabm.staff"))
    t = await _new(op)
    s, t = await op.post(f"/api/tickets/{t['id']}/triage",
                         {"version": t["version"], "priority": 4, "tags": ["lubang"]})
    assert s == 200 and t["status"] == "triaged" and t["priority"] == 4 and t["tags"] == ["lubang"]
    s, t = await op.post(f"/api/tickets/{t['id']}/route", {"version": t["version"]})
    assert s == 200 and t["status"] == "routed" and t["department"]["code"] == "dsdabm"
    s, listed = await staff.get("/api/tickets")
    assert s == 200 and t["id"] in [i["id"] for i in listed["items"]]
    for action, body in (("acknowledge", {}), ("start", {}),
                         ("resolve", {"note": "Sudah ditambal"})):
        s, t = await staff.post(f"/api/tickets/{t['id']}/{action}",
                                {"version": t["version"], **body})
        assert s == 200, t
    assert t["status"] == "resolved" and t["sla_state"] == "met"
    s, body = await staff.post(f"/api/tickets/{t['id']}/close", {"version": t["version"]})
    assert s == 403
    s, t = await op.post(f"/api/tickets/{t['id']}/close", {"version": t["version"]})
    assert s == 200 and t["status"] == "closed"
    s, t = await op.post(f"/api/tickets/{t['id']}/reopen", {"version": t["version"]})
    assert s == 200 and t["status"] == "routed"
    s, hist = await op.get(f"/api/tickets/{t['id']}/history")
    kinds = [e["kind"] for e in hist["events"]]
    assert kinds == ["ticket.created", "ticket.triaged", "ticket.routed"] + [
        "ticket.status_changed"] * 5
    assert hist["events"][2]["changes"]["status"] == ["triaged", "routed"]
    assert hist["events"][0]["actor"] == "person:operator"
    assert hist["events"][5]["note"] == "Sudah ditambal"  # the resolve note, as text
    s, got = await op.get(f"/api/tickets/{t['id']}")
    assert [n["body"] for n in got["notes"]] == ["Sudah ditambal"]


async def test_invalid_transition_is_409_and_changes_nothing(api: Api, db_url: str) -> None:
    op = await _operator(api)
    t = await _new(op)
    before = await _count_events(db_url, t["id"])
    for action in ("acknowledge", "start", "resolve", "close", "reopen"):
        s, body = await op.post(f"/api/tickets/{t['id']}/{action}",
                                {"version": t["version"], "note": "n"})
        assert s == 409 and body["error"] == "invalid_transition", (action, body)
    s, again = await op.get(f"/api/tickets/{t['id']}")
    assert again["version"] == t["version"] and again["status"] == "new"
    assert await _count_events(db_url, t["id"]) == before


async def test_second_writer_on_the_same_version_gets_409(api: Api) -> None:
    op = await _operator(api)
    t = await _new(op)
    first, second = await asyncio.gather(
        op.post(f"/api/tickets/{t['id']}/triage", {"version": 1, "priority": 2}),
        op.post(f"/api/tickets/{t['id']}/triage", {"version": 1, "priority": 4}))
    statuses = sorted([first[0], second[0]])
    assert statuses == [200, 409]
    loser = first if first[0] == 409 else second
    assert loser[1]["error"] == "stale_version"
    _s, now = await op.get(f"/api/tickets/{t['id']}")
    assert now["version"] == 2


async def test_refusal_returns_the_ticket_flagged_and_both_sides_hear(api: Api) -> None:
    op = await _operator(api)
    staff = api.as_user(await api.login("dsdabm.staff"))
    t = await _new(op)
    s, t = await op.post(f"/api/tickets/{t['id']}/route", {"version": 1})
    ws_staff = await api.ws(token=staff.token)
    await ws_staff.receive_json()
    s, body = await staff.post(f"/api/tickets/{t['id']}/refuse", {"version": t["version"]})
    assert s == 400 and body["fields"] == {"reason": "required"}
    s, t = await staff.post(f"/api/tickets/{t['id']}/refuse",
                            {"version": t["version"], "reason": "bukan wewenang"})
    assert s == 200 and t["status"] == "triaged" and t["flagged"] and t["department"] is None
    ev = await next_event(ws_staff, "ticket.refused")
    assert ev["payload"]["reason"] == "bukan wewenang"
    assert ev["payload"]["changes"]["department"][1] is None
    s, _ = await staff.get(f"/api/tickets/{t['id']}")
    assert s == 404  # no longer theirs
    s, t = await op.post(f"/api/tickets/{t['id']}/route",
                         {"version": t["version"], "department": "dpkp"})
    assert s == 200 and t["flagged"] is False and t["department"]["code"] == "dpkp"
    await ws_staff.close()


async def test_reroute_tells_the_old_department(api: Api) -> None:
    op = await _operator(api)
    t = await _new(op)
    s, t = await op.post(f"/api/tickets/{t['id']}/route", {"version": 1})
    ws = await api.ws(token=await api.login("dsdabm.staff"))
    await ws.receive_json()
    s, t = await op.post(f"/api/tickets/{t['id']}/route",
                         {"version": t["version"], "department": "dishub"})
    assert s == 200
    ev = await next_event(ws)
    assert ev["kind"] == "ticket.routed_away" and ev["payload"]["ticket"]["id"] == t["id"]
    await ws.close()


async def test_event_payload_has_the_wall_summary_ticket_and_changes(api: Api) -> None:
    op = await _operator(api)
    ws = await api.ws(token=op.token)
    await ws.receive_json()
    t = await _new(op)
    ev = await next_event(ws, "ticket.created")
    p = ev["payload"]
    for key in ("status", "priority", "reference", "category", "channel", "department_id",
                "district_id", "resolve_due_at", "ack_due_at", "ticket", "changes"):
        assert key in p, key
    assert p["ticket"] == {k: v for k, v in t.items() if k != "duplicate_candidates"}
    assert p["category"] == "jalan-rusak" and p["changes"]["status"] == [None, "new"]
    await ws.close()


async def test_notes_never_bump_the_version(api: Api) -> None:
    op = await _operator(api)
    t = await _new(op)
    s, body = await op.post(f"/api/tickets/{t['id']}/notes", {"body": "  "})
    assert s == 400 and "body" in body["fields"]
    s, body = await op.post(f"/api/tickets/{t['id']}/notes", {"body": "Sudah dicek CCTV"})
    assert s == 201 and body["ticket"]["version"] == t["version"]
    assert body["note"]["body"] == "Sudah dicek CCTV"


async def test_call_taker_takes_and_closes_a_prank_call(api: Api) -> None:
    op = await _operator(api)
    s, body = await op.post("/api/calls", {"caller_number": "abc", "what_happened": ""})
    assert s == 400 and {"caller_number", "what_happened"} <= set(body["fields"])
    s, call = await op.post("/api/calls", {"caller_number": "081234567890",
                                           "location": "Jl. Merdeka",
                                           "what_happened": "Penelepon diam saja",
                                           "priority": 2})
    assert s == 201 and call["channel"] == "call112" and call["priority"] == 2
    assert call["reporter"]["phone"] == "081234567890"
    s, body = await op.post(f"/api/calls/{call['id']}/close", {"reason": "joke"})
    assert s == 400 and "reason" in body["fields"]
    s, closed = await op.post(f"/api/calls/{call['id']}/close", {"reason": "prank"})
    assert s == 200 and closed["status"] == "closed" and closed["close_reason"] == "prank"
    other = await _new(op)
    s, body = await op.post(f"/api/calls/{other['id']}/close", {"reason": "prank"})
    assert s == 409


async def test_a_call_that_is_no_emergency_is_filed_and_closed_in_one_request(
        api: Api) -> None:
    """No place needed: a prank caller seldom gives one; everything else is checked."""
    op = await _operator(api)
    s, body = await op.post("/api/calls", {"caller_number": "081234567890",
                                           "what_happened": "Penelepon tertawa lalu menutup"})
    assert s == 400 and "location" in body["fields"]  # an emergency needs a place
    s, body = await op.post("/api/calls", {"caller_number": "081234567890",
                                           "what_happened": "x", "close_reason": "joke"})
    assert s == 400 and "close_reason" in body["fields"]
    s, body = await op.post("/api/calls", {"caller_number": "", "what_happened": "",
                                           "close_reason": "prank"})
    assert s == 400 and {"caller_number", "what_happened"} <= set(body["fields"])
    s, closed = await op.post("/api/calls", {"caller_number": "081234567890",
                                             "what_happened": "Penelepon tertawa lalu menutup",
                                             "close_reason": "prank"})
    assert s == 201, closed
    assert closed["status"] == "closed" and closed["close_reason"] == "prank"
    assert closed["channel"] == "call112" and closed["reporter"]["phone"] == "081234567890"
    s, history = await op.get(f"/api/tickets/{closed['id']}/history")
    assert [e["kind"] for e in history["events"]] == ["ticket.created", "ticket.status_changed"]


async def test_pause_moves_due_times_and_shows_paused(api: Api) -> None:
    op = await _operator(api)
    t = await _new(op)
    s, t2 = await op.post(f"/api/tickets/{t['id']}/pause", {"version": 1})
    assert s == 200 and t2["sla_state"] == "paused"
    await asyncio.sleep(1.1)
    s, t3 = await op.post(f"/api/tickets/{t['id']}/resume", {"version": t2["version"]})
    assert s == 200 and t3["sla_state"] == "ok"
    assert t3["ack_due_at"] > t["ack_due_at"]
    s, _body = await op.post(f"/api/tickets/{t['id']}/resume", {"version": t3["version"]})
    assert s == 409


async def test_reference_lists_for_any_signed_in_person(api: Api) -> None:
    staff = api.as_user(await api.login("dsdabm.staff"))
    for path, key in (("/api/departments", "dsdabm"), ("/api/categories", "jalan-rusak"),
                      ("/api/districts", "coblong")):
        s, items = await staff.get(path)
        assert s == 200 and key in [i["code"] for i in items]
    s, _ = await api.get("/api/departments")
    assert s == 401
