"""Text Postgres cannot store (NUL characters) is a 4xx naming the field, never a 500."""

from __future__ import annotations

import aiohttp

from tests.conftest import Api


async def test_nul_characters_are_refused_everywhere(api: Api) -> None:
    op = api.as_user(await api.login("operator"))
    s, body = await op.post("/api/tickets", {"channel": "web", "description": "a\x00b",
                                             "address": "Jl. Braga"})
    assert s == 400 and "description" in body["fields"]
    s, t = await op.post("/api/tickets", {"channel": "web", "description": "ok",
                                          "address": "Jl. Braga"})
    s, body = await op.post(f"/api/tickets/{t['id']}/notes", {"body": "x\x00"})
    assert s == 400 and "body" in body["fields"]
    s, body = await op.post(f"/api/tickets/{t['id']}/reject",
                            {"version": t["version"], "reason": "x\x00"})
    assert s == 400 and "reason" in body["fields"]
    s, body = await op.post(f"/api/tickets/{t['id']}/triage",
                            {"version": t["version"], "category": "x\x00"})
    assert s == 400 and "category" in body["fields"]
    s, body = await op.post(f"/api/tickets/{t['id']}/route",
                            {"version": t["version"], "department": "x\x00"})
    assert s == 400 and "department" in body["fields"]
    s, body = await op.get("/api/tickets?q=a%00b")
    assert s == 400 and "q" in body["fields"]
    s, _ = await op.get("/api/tickets/BDG%00")
    assert s == 404
    async with aiohttp.ClientSession() as anon:
        async with anon.get(f"{api.base}/open311/v2/requests.json?service_code=a%00") as r:
            assert r.status == 400
        async with anon.post(f"{api.base}/open311/v2/requests.json",
                             data={"api_key": "demo-open311-key", "service_code": "sampah",
                                   "address_string": "x", "description": "a\x00"}) as r:
            assert r.status == 400
        async with anon.post(f"{api.base}/lapor", data={
                "category": "sampah", "description": "a\x00", "address": "Jl. Braga"}) as r:
            assert r.status == 400
        async with anon.get(f"{api.base}/lapor/status/BDG%00") as r:
            assert r.status == 404
        async with anon.post(f"{api.base}/dept/login",
                             data={"username": "a\x00", "password": "x"},
                             allow_redirects=False) as r:
            assert r.status == 303
