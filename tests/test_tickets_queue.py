"""The queue: filters, urgency order, keyset paging, free text, department scoping;
and duplicates: candidates, merge, unmerge, bulk merge."""

from __future__ import annotations

import base64
import json
from typing import Any

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


def _key(t: dict[str, Any]) -> tuple[int, str, int]:
    return (t["priority"], t["resolve_due_at"] or "9999", t["id"])


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
