"""Routing rules: a district's rule beats the category's city-wide rule, which beats
the category's own department; the suggestion follows triage; route validates."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from tests.conftest import Api


async def test_district_rule_wins_and_triage_recomputes_the_suggestion(
        api: Api, db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        # Trash in Coblong is collected by the parks department (a district rule).
        await conn.execute(
            "INSERT INTO routing_rules (category_id, district_id, department_id)"
            " SELECT c.id, d.id, p.id FROM categories c, districts d, departments p"
            " WHERE c.code = 'sampah' AND d.code = 'coblong' AND p.code = 'dpkp'")
    finally:
        await conn.close()
    op = api.as_user(await api.login("operator"))
    s, t = await op.post("/api/tickets", {"channel": "walk_in", "category": "sampah",
                                          "description": "Sampah", "district": "coblong"})
    assert s == 201 and t["suggested_department"]["code"] == "dpkp"
    s, t = await op.post(f"/api/tickets/{t['id']}/triage",
                         {"version": t["version"], "district": "regol"})
    assert s == 200 and t["suggested_department"]["code"] == "dlh"  # city-wide rule
    s, t = await op.post(f"/api/tickets/{t['id']}/triage",
                         {"version": t["version"], "category": "nope", "district": "nowhere"})
    assert s == 400 and set(t["fields"]) == {"category", "district"}


async def test_route_validates_and_refuses_a_no_op(api: Api) -> None:
    op = api.as_user(await api.login("operator"))
    s, t = await op.post("/api/tickets", {"channel": "cctv", "description": "Sesuatu terjadi",
                                          "address": "Jl. Braga"})
    assert s == 201 and t["category"] is None and t["suggested_department"] is None
    s, body = await op.post(f"/api/tickets/{t['id']}/route", {"version": t["version"]})
    assert s == 400 and "department" in body["fields"]
    s, body = await op.post(f"/api/tickets/{t['id']}/route",
                            {"version": t["version"], "department": "nasa"})
    assert s == 400 and body["fields"] == {"department": "unknown"}
    s, t = await op.post(f"/api/tickets/{t['id']}/route",
                         {"version": t["version"], "department": "satpolpp"})
    assert s == 200 and t["status"] == "routed"
    s, body = await op.post(f"/api/tickets/{t['id']}/route",
                            {"version": t["version"], "department": "satpolpp"})
    assert s == 409 and body["error"] == "invalid_transition"
    s, body = await op.post(f"/api/tickets/{t['id']}/route", {"department": "dishub"})
    assert s == 400 and body["fields"] == {"version": "required"}


async def test_emergency_due_times_follow_the_department_policy(api: Api) -> None:
    op = api.as_user(await api.login("operator"))
    s, t = await op.post("/api/calls", {"caller_number": "081233334444",
                                        "what_happened": "Kebakaran rumah",
                                        "location": "Jl. Cihampelas", "category": "kebakaran"})
    assert s == 201 and t["priority"] == 1 and t["suggested_department"]["code"] == "diskar"
    created = datetime.fromisoformat(t["created_at"])
    ack = datetime.fromisoformat(t["ack_due_at"])
    dispatch = datetime.fromisoformat(t["resolve_due_at"])
    # Fire and Rescue: acknowledge within 5 minutes, dispatch within 30 (the default).
    assert round((ack - created).total_seconds()) == 5 * 60
    assert round((dispatch - created).total_seconds()) == 30 * 60


async def test_district_comes_from_coordinates_only_inside_the_city(api: Api) -> None:
    op = api.as_user(await api.login("operator"))
    s, t = await op.post("/api/tickets", {"channel": "cctv", "description": "Pohon tumbang",
                                          "category": "pohon-tumbang",
                                          "lat": -6.8896, "lon": 107.6146})  # near Dago
    assert s == 201 and t["district"]["code"] == "coblong"
    s, t = await op.post("/api/tickets", {"channel": "cctv", "description": "Pohon tumbang",
                                          "category": "pohon-tumbang",
                                          "lat": -6.2000, "lon": 106.8166})  # Jakarta
    assert s == 201 and t["district"] is None
    assert t["suggested_department"]["code"] == "dpkp"  # the city-wide rule still applies


async def test_every_routable_ticket_has_the_suggestion_the_rules_give_now(
        api: Api, db_url: str) -> None:
    """Seeded tickets (inserted without any suggestion) in new or triaged get one;
    a ticket filed before its rule existed gets the rule's answer once it exists;
    a category change at triage brings the new category's suggestion; a closed
    ticket has none; and none at all when no rule or department answers."""
    conn = await asyncpg.connect(db_url)
    try:
        # Loaded as a seed or an import loads tickets: rows with a category and a
        # district, nothing about routing.
        await conn.execute(
            "INSERT INTO tickets (reference, channel, category_id, district_id, priority,"
            " status, description)"
            " SELECT 'IMPORT-' || c.code, 'web', c.id, d.id, c.default_priority,"
            " (ARRAY['new', 'triaged'])[1 + c.id % 2], 'imported'"
            " FROM categories c, districts d WHERE d.code = 'coblong'")
    finally:
        await conn.close()
    op = api.as_user(await api.login("operator"))
    s, page = await op.get("/api/tickets?status=new,triaged&limit=200")
    assert s == 200 and len(page["items"]) >= 20, page
    assert all(t["suggested_department"] for t in page["items"] if t["category"])
    s, page = await op.get("/api/tickets?q=imported&status=new,triaged&limit=200")
    by_category = {t["category"]["code"]: t["suggested_department"]["code"]
                   for t in page["items"]}
    assert by_category["kesehatan"] == "dinkes" and by_category["sampah"] == "dlh"

    conn = await asyncpg.connect(db_url)
    try:
        # A new category nobody has made a rule for yet, without a department.
        await conn.execute("INSERT INTO categories (code, name, name_en, default_priority)"
                           " VALUES ('baliho', 'Baliho liar', 'Illegal billboard', 4)")
        s, t = await op.post("/api/tickets", {"channel": "walk_in", "category": "baliho",
                                              "description": "Baliho", "district": "regol"})
        assert s == 201 and t["suggested_department"] is None  # truly no rule: none
        await conn.execute(
            "INSERT INTO routing_rules (category_id, district_id, department_id)"
            " SELECT c.id, NULL, p.id FROM categories c, departments p"
            " WHERE c.code = 'baliho' AND p.code = 'satpolpp'")
    finally:
        await conn.close()
    s, t = await op.get(f"/api/tickets/{t['id']}")
    assert t["suggested_department"]["code"] == "satpolpp"  # the rule made after filing
    s, t = await op.post(f"/api/tickets/{t['id']}/triage",
                         {"version": t["version"], "category": "kebakaran"})
    assert s == 200 and t["suggested_department"]["code"] == "diskar"
    s, t = await op.post(f"/api/tickets/{t['id']}/route", {"version": t["version"]})
    assert s == 200 and t["department"]["code"] == "diskar"
    s, listed = await op.get(f"/api/tickets?q={t['reference']}")
    assert [x["suggested_department"]["code"] for x in listed["items"]] == ["diskar"]
    s, t = await op.post(f"/api/tickets/{t['id']}/reject",
                         {"version": t["version"], "reason": "salah input"})
    assert s == 200 and t["status"] == "rejected"
    assert t["suggested_department"] is None  # nothing left to route
