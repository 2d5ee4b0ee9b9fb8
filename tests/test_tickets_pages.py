"""The public complaint form (/lapor), its status page, and the department page (/dept)."""

from __future__ import annotations

import re

import aiohttp
import asyncpg

from tests.conftest import Api, next_event

FORM = {"category": "sampah", "description": "Sampah menumpuk di pinggir jalan",
        "address": "Jl. Dago 100", "district": "coblong", "name": "Siti",
        "phone": "081299998888", "email": "", "lat": "", "lon": ""}


async def _count_web_tickets(db_url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM tickets WHERE channel = 'web' AND reference LIKE 'BDG-%'"))
    finally:
        await conn.close()


async def test_form_in_both_languages_without_javascript(api: Api) -> None:
    async with api.session.get(f"{api.base}/lapor") as resp:
        html = await resp.text()
    assert resp.status == 200 and 'lang="id"' in html and "Kirim laporan" in html
    assert "<script" not in html
    async with api.session.get(f"{api.base}/lapor?lang=en") as resp:
        html = await resp.text()
    assert 'lang="en"' in html and "Send report" in html and "Damaged road" in html


async def test_filing_shows_a_reference_and_the_status_page(api: Api, db_url: str) -> None:
    async with api.session.post(f"{api.base}/lapor", data={**FORM, "lang": "en"},
                                allow_redirects=False) as resp:
        assert resp.status == 303
        where = resp.headers["Location"]
    found = re.search(r"/lapor/status/(BDG-\d{4}-\d{5})\?key=([A-Z0-9-]{14})&", where)
    assert found, where
    ref, key = found.groups()
    async with api.session.get(f"{api.base}{where}") as resp:
        html = await resp.text()
    assert resp.status == 200 and ref in html and key in html and "Thank you" in html
    assert "Report received" in html and "Siti" not in html  # no personal data
    op = api.as_user(await api.login("operator"))
    _, t = await op.get(f"/api/tickets/{ref}")
    assert t["channel"] == "web" and t["district"]["code"] == "coblong"
    _s, t = await op.post(f"/api/tickets/{t['id']}/route", {"version": t["version"]})
    # the key works however it is typed back
    typed = key.lower().replace("-", " ")
    async with api.session.get(f"{api.base}/lapor/status/{ref.lower()}",
                               params={"key": typed}) as resp:
        html = await resp.text()
    assert "Diteruskan ke dinas" in html and "Dinas Lingkungan Hidup" in html
    async with api.session.get(f"{api.base}/lapor/status?reference={ref}&key={typed}",
                               allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"].startswith(f"/lapor/status/{ref}?key=")
    async with api.session.get(f"{api.base}/lapor/status/BDG-0000-99999") as resp:
        assert resp.status == 404
    assert await _count_web_tickets(db_url) == 1


async def test_bad_form_input_is_explained_and_nothing_stored(api: Api, db_url: str) -> None:
    bad = {**FORM, "category": "", "description": "", "lat": "abc", "email": "nope",
           "district": ""}
    async with api.session.post(f"{api.base}/lapor", data=bad) as resp:
        html = await resp.text()
    assert resp.status == 400 and "Periksa isian" in html
    assert html.count('class="error"') >= 4
    assert 'value="Jl. Dago 100"' in html  # what they typed is kept
    async with api.session.post(f"{api.base}/lapor", data={**FORM, "website": "spam.example"}
                                ) as resp:
        assert resp.status == 400
    async with api.session.post(f"{api.base}/lapor", data=b"\xff\xfe",
                                headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400
    evil = {**FORM, "description": "<script>alert(1)</script>", "category": "nope"}
    async with api.session.post(f"{api.base}/lapor", data=evil) as resp:
        html = await resp.text()
    assert resp.status == 400 and "<script>alert(1)" not in html
    assert await _count_web_tickets(db_url) == 0


async def test_department_page_signs_in_lists_and_acts(api: Api) -> None:
    op = api.as_user(await api.login("operator"))
    _, t = await op.post("/api/tickets", {"channel": "walk_in", "category": "jalan-rusak",
                                          "description": "Lubang di Jl. Riau",
                                          "address": "Jl. Riau"})
    _, t = await op.post(f"/api/tickets/{t['id']}/route", {"version": t["version"]})
    jar = aiohttp.CookieJar(unsafe=True)
    # As a browser on the page: it names the page's origin on every write and handshake.
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": api.base}) as browser:
        async with browser.get(f"{api.base}/dept") as resp:
            assert "Masuk staf dinas" in await resp.text()  # Indonesian unless asked
        async with browser.get(f"{api.base}/dept",
                               headers={"Accept-Language": "en-GB,en;q=0.9"}) as resp:
            assert "Department staff sign-in" in await resp.text()
        async with browser.post(f"{api.base}/dept/login",
                                data={"username": "operator", "password": "pantau-demo"},
                                allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/dept?m=login"  # not department staff
        async with browser.post(f"{api.base}/dept/login",
                                data={"username": "dsdabm.staff", "password": "pantau-demo"},
                                allow_redirects=False) as resp:
            assert resp.status == 303
            assert "httponly" in resp.headers["Set-Cookie"].lower()
        async with browser.get(f"{api.base}/dept") as resp:
            html = await resp.text()
        assert t["reference"] in html and "/dept/tickets/" in html
        # Live: the page's WebSocket authenticates with the same cookie.
        ws = await browser.ws_connect(f"{api.base.replace('http', 'ws')}/api/events")
        await ws.receive_json()
        async with browser.post(f"{api.base}/dept/tickets/{t['id']}/acknowledge",
                                data={"version": str(t["version"])},
                                allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/dept?m=done"
        ev = await next_event(ws, "ticket.status_changed")
        assert ev["payload"]["status"] == "acknowledged"
        await ws.close()
        async with browser.post(f"{api.base}/dept/tickets/{t['id']}/start",
                                data={"version": str(t["version"])},
                                allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/dept?m=stale_version"
        async with browser.post(f"{api.base}/dept/tickets/{t['id']}/start",
                                data={"version": str(t["version"] + 1)},
                                headers={"Origin": "http://evil.example"},
                                allow_redirects=False) as resp:
            assert resp.status == 403
        async with browser.post(f"{api.base}/dept/logout", allow_redirects=False) as resp:
            assert resp.status == 303
    _s, now = await op.get(f"/api/tickets/{t['id']}")
    assert now["status"] == "acknowledged"
