"""The queue: filters, urgency order, keyset paging, free text, department scoping;
and duplicates: candidates, merge, unmerge, bulk merge."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tests.conftest import Api

BRAGA = {"lat": -6.9175, "lon": 107.6093}


async def _op(api: Api) -> Api:
    return api.as_user(await api.login("operator"))


async def _new(op: Api, **over: Any) -> dict[str, Any]:
    body = {"channel": "walk_in", "description": "Sampah menumpuk di trotoar Braga",
            "category": "sampah", **BRAGA, **over}
    s, t = await op.post("/api/tickets", body)
    assert s == 201, t
    return t  # type: ignore[no-any-return]


def _key(t: dict[str, Any]) -> tuple[int, datetime, int]:
    due = (datetime.fromisoformat(t["queue_due_at"]) if t["queue_due_at"]
           else datetime.max.replace(tzinfo=UTC))
    return (t["queue_rank"], due, t["id"])


async def test_pages_walk_the_whole_open_queue_in_urgency_order(api: Api) -> None:
    op = await _op(api)
    s, first = await op.get("/api/tickets?limit=7")
    assert s == 200 and len(first["items"]) == 7 and first["next_cursor"]
    seen = list(first["items"])
    cursor = first["next_cursor"]
    while cursor:
        s, page = await op.get(f"/api/tickets?limit=7&cursor={cursor}")
        assert s == 200
        seen += page["items"]
        cursor = page["next_cursor"]
    assert len(seen) == first["total"] and len({t["id"] for t in seen}) == len(seen)
    assert [_key(t) for t in seen] == sorted(_key(t) for t in seen)
    assert all(t["status"] in ("new", "triaged", "routed", "acknowledged", "in_progress")
               for t in seen)
    s, everything = await op.get("/api/tickets?status=all&limit=200")
    assert everything["total"] > first["total"]


async def test_filters_combine(api: Api) -> None:
    op = await _op(api)
    s, page = await op.get("/api/tickets?status=all&priority=P1,2&channel=open311,web&limit=200")
    assert s == 200
    assert all(t["priority"] in (1, 2) and t["channel"] in ("open311", "web")
               for t in page["items"])
    s, page = await op.get("/api/tickets?department=dsdabm&status=routed,resolved&limit=200")
    assert all(t["department"]["code"] == "dsdabm" and t["status"] in ("routed", "resolved")
               for t in page["items"])
    s, page = await op.get("/api/tickets?district=coblong&status=all&limit=200")
    assert all(t["district"]["code"] == "coblong" for t in page["items"])


async def test_bad_filters_are_400_naming_each(api: Api) -> None:
    op = await _op(api)
    s, body = await op.get("/api/tickets?status=lost&priority=9&department=x&district=y"
                           "&channel=fax&sla=late&limit=0&cursor=zzz")
    assert s == 400
    assert set(body["fields"]) == {"status", "priority", "department", "district", "channel",
                                   "sla", "limit", "cursor"}
    forged = base64.urlsafe_b64encode(json.dumps([10**12, None, 1]).encode()).decode()
    s, body = await op.get(f"/api/tickets?cursor={forged}")
    assert s == 400 and set(body["fields"]) == {"cursor"}


async def test_free_text_finds_description_address_and_reference(api: Api) -> None:
    op = await _op(api)
    t = await _new(op, description="Ada kucing terjebak di gorong-gorong", address="Jl. Braga 12")
    for q in ("gorong", "KUCING", "braga 12", t["reference"].lower()):
        s, page = await op.get(f"/api/tickets?q={q}")
        assert s == 200 and t["id"] in [i["id"] for i in page["items"]], q
    s, page = await op.get("/api/tickets?q=100%25_")
    assert s == 200 and page["items"] == []


async def test_department_staff_see_only_their_queue(api: Api) -> None:
    staff = api.as_user(await api.login("dsdabm.staff"))
    s, page = await staff.get("/api/tickets?status=all&limit=200")
    assert s == 200 and page["items"]
    assert all(t["department"]["code"] == "dsdabm" for t in page["items"])
    s, _ = await staff.get("/api/tickets?department=dishub")
    assert s == 403


async def test_merge_moves_notes_lists_reporters_and_undoes(api: Api) -> None:
    op = await _op(api)
    master = await _new(op, reporter={"name": "Asep", "phone": "0811111111"})
    dup = await _new(op, reporter={"name": "Euis", "phone": "0822222222"},
                     lat=BRAGA["lat"] + 0.001)  # ~110 m away
    far = await _new(op, lat=BRAGA["lat"] + 0.01)  # ~1.1 km away
    s, cands = await op.get(f"/api/tickets/{dup['id']}/duplicates")
    refs = [c["reference"] for c in cands["items"]]
    assert master["reference"] in refs and far["reference"] not in refs
    s, _ = await op.post(f"/api/tickets/{dup['id']}/notes", {"body": "Foto dari warga"})
    s, body = await op.post(f"/api/tickets/{dup['id']}/merge",
                            {"version": 99, "into": master["id"]})
    assert s == 409 and body["error"] == "stale_version"
    s, body = await op.post(f"/api/tickets/{dup['id']}/merge",
                            {"version": dup["version"], "into": dup["id"]})
    assert s == 400
    s, merged = await op.post(f"/api/tickets/{dup['id']}/merge",
                              {"version": dup["version"], "into": master["reference"]})
    assert s == 200 and merged["status"] == "merged"
    assert merged["merged_into"] == master["reference"]
    s, m = await op.get(f"/api/tickets/{master['id']}")
    assert [n["body"] for n in m["notes"]] == ["Foto dari warga"]
    assert [r["name"] for r in m["co_reporters"]] == ["Euis"]
    s, body = await op.post(f"/api/tickets/{dup['id']}/resolve",
                            {"version": merged["version"], "note": "x"})
    assert s == 409
    s, back = await op.post(f"/api/tickets/{dup['id']}/unmerge", {})
    assert s == 200 and back["status"] == "new" and back["merged_into"] is None
    s, m = await op.get(f"/api/tickets/{master['id']}")
    assert m["notes"] == [] and m["co_reporters"] == []
    s, d = await op.get(f"/api/tickets/{dup['id']}")
    assert [n["body"] for n in d["notes"]] == ["Foto dari warga"]
    s, _ = await op.post(f"/api/tickets/{dup['id']}/unmerge", {})
    assert s == 409


async def test_bulk_merge_is_all_or_nothing(api: Api) -> None:
    op = await _op(api)
    master = await _new(op)
    a, b = await _new(op), await _new(op)
    closed = await _new(op)
    s, closed = await op.post(f"/api/tickets/{closed['id']}/reject",
                              {"version": closed["version"], "reason": "spam"})
    s, body = await op.post("/api/tickets/merge",
                            {"into": master["id"], "ids": [a["id"], closed["id"]]})
    assert s == 409
    s, still = await op.get(f"/api/tickets/{a['id']}")
    assert still["status"] == "new"
    s, body = await op.post("/api/tickets/merge", {"into": master["id"], "ids": [a["id"], 0]})
    assert s == 400 and "ids" in body["fields"]
    s, body = await op.post("/api/tickets/merge", {"into": master["id"],
                                                   "ids": [a["id"], b["id"]]})
    assert s == 200 and [t["status"] for t in body["merged"]] == ["merged", "merged"]


async def _only_these_open(db_url: str) -> None:
    """Close every seeded open ticket, so the test sees only the ones it makes."""
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("UPDATE tickets SET status = 'closed', closed_at = now()"
                           " WHERE status IN ('new','triaged','routed','acknowledged',"
                           "'in_progress')")
    finally:
        await conn.close()


async def _overdue_emergencies(db_url: str, n: int) -> None:
    """`n` P1 tickets departments are working on (or ignoring), days past due."""
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "INSERT INTO tickets (reference, channel, category_id, priority, status,"
            " description, department_id, acknowledged_at, ack_due_at, resolve_due_at,"
            " created_at)"
            " SELECT 'OVERDUE-' || g, 'call112', c.id, 1,"
            " (ARRAY['routed','acknowledged','in_progress'])[1 + g % 3], 'lama',"
            " c.department_id, CASE WHEN g % 3 > 0 THEN now() - interval '20 days' END,"
            " now() - make_interval(days => 20 + g), now() - make_interval(days => 20 + g),"
            " now() - make_interval(days => 21 + g)"
            " FROM generate_series(1, $1) g, categories c WHERE c.code = 'kebakaran'", n)
        await conn.execute(
            "INSERT INTO tickets (reference, channel, category_id, priority, status,"
            " description, ack_due_at, created_at)"
            " SELECT 'OLDP3-' || g, 'web', c.id, 3, 'new', 'lama',"
            " now() - interval '5 days', now() - interval '9 days'"
            " FROM generate_series(1, 5) g, categories c WHERE c.code = 'sampah'")
    finally:
        await conn.close()


async def _call(op: Api, what: str, category: str) -> dict[str, Any]:
    s, t = await op.post("/api/calls", {"caller_number": "081233334444", "what_happened": what,
                                        "location": "Jl. Braga", "category": category})
    assert s == 201, t
    return t  # type: ignore[no-any-return]


async def test_a_new_emergency_call_is_on_top_of_long_overdue_work(
        api: Api, db_url: str) -> None:
    """46 long-overdue P1 tickets in departments' hands do not keep a new fire call
    from the top: emergencies nobody has been sent to yet come first, oldest first
    (P1 before P2), then everything by priority and the deadline that is running."""
    await _only_these_open(db_url)
    await _overdue_emergencies(db_url, 46)
    op = await _op(api)
    fire = await _call(op, "Kebakaran rumah, asap tebal", "kebakaran")
    s, page = await op.get("/api/tickets?limit=10")
    assert s == 200 and page["items"][0]["id"] == fire["id"], page["items"][0]
    assert page["total"] == 46 + 5 + 1

    accident = await _call(op, "Tabrakan motor, korban luka", "kecelakaan")  # P1, later
    flood = await _call(op, "Banjir setinggi lutut", "banjir")  # P2
    s, page = await op.get("/api/tickets?limit=60")
    ids = [t["id"] for t in page["items"]]
    assert ids[:3] == [fire["id"], accident["id"], flood["id"]]
    # then the P1 work, the longest overdue first (dispatched ones, whose clock
    # has stopped, at the end), then the P3 complaints
    rest = page["items"][3:]
    assert [t["priority"] for t in rest] == [1] * 46 + [3] * 5
    assert [_key(t) for t in rest] == sorted(_key(t) for t in rest)
    assert rest[0]["sla_state"] == "breached" and rest[0]["status"] != "in_progress"
    assert {t["status"] for t in rest[31:46]} == {"in_progress"}

    # Once triaged the fire call still waits on the center (to be routed) ...
    s, fire = await op.post(f"/api/tickets/{fire['id']}/triage", {"version": fire["version"]})
    s, page = await op.get("/api/tickets?limit=3")
    assert [t["id"] for t in page["items"]][:2] == [fire["id"], accident["id"]]
    # ... routed, it is the fire brigade's: among the P1 work by its deadline
    # (acknowledge within 5 minutes, still ahead), after the ones already missed.
    s, fire = await op.post(f"/api/tickets/{fire['id']}/route", {"version": fire["version"]})
    s, page = await op.get("/api/tickets?limit=60")
    ids = [t["id"] for t in page["items"]]
    assert ids[:2] == [accident["id"], flood["id"]]
    assert ids.index(fire["id"]) == 2 + 31  # after the 31 missed, before the dispatched
    assert fire["queue_due_at"] == fire["ack_due_at"]


async def test_keyset_pages_follow_the_queue_order_across_ranks(api: Api, db_url: str) -> None:
    await _only_these_open(db_url)
    await _overdue_emergencies(db_url, 12)
    op = await _op(api)
    for what, cat in [("Kebakaran", "kebakaran"), ("Banjir", "banjir"),
                      ("Kecelakaan", "kecelakaan")]:
        await _call(op, what, cat)
    for page_size in (1, 4, 7):
        seen: list[dict[str, Any]] = []
        cursor = ""
        while True:
            s, page = await op.get(f"/api/tickets?limit={page_size}" +
                                   (f"&cursor={cursor}" if cursor else ""))
            assert s == 200, page
            seen += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 12 + 5 + 3 and len({t["id"] for t in seen}) == len(seen)
        assert [_key(t) for t in seen] == sorted(_key(t) for t in seen)
    _, p1 = await op.get("/api/tickets?priority=1&limit=50")
    assert [t["queue_rank"] for t in p1["items"]] == [0, 0] + [2] * 12


async def test_queue_columns_agree_with_the_sla_rules(orm: str) -> None:
    """queue_rank / queue_due_at (generated in SQL, migration 0021) are what
    server/tickets/sla.py says is running, for every seeded ticket."""
    from server.tickets import sla

    conn = await asyncpg.connect(orm)
    try:
        await conn.execute("UPDATE tickets SET sla_paused_at = now() WHERE id IN"
                           " (SELECT id FROM tickets WHERE status = 'routed' LIMIT 2)")
        rows = [dict(r) for r in await conn.fetch("SELECT * FROM tickets")]
    finally:
        await conn.close()
    assert len(rows) > 30
    for t in rows:
        first = t["priority"] <= 2 and t["status"] in ("new", "triaged")
        assert t["queue_rank"] == (t["priority"] - 1 if first else t["priority"] + 1), t
        if first:
            want = t["created_at"]
        elif t["sla_paused_at"] is not None:
            want = None
        elif sla.ack_running(t):
            want = t["ack_due_at"]
        elif sla.resolve_running(t):
            want = t["resolve_due_at"]
        else:
            want = None
        assert t["queue_due_at"] == want, t
