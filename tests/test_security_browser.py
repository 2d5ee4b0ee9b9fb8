"""Cross-site writes and the pages' CSP, in real headless Chromium.

The attacker is a page on another port of 127.0.0.1: the same *site* as Pantau,
so the browser sends the SameSite=Strict session cookie along with whatever that
page makes it request. Only the server's cookie and origin rules stand between
it and the department user's tickets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.keys import pool_key
from tests.conftest import Api, base_of
from tests.test_security_web import routed_ticket
from tests.test_wall_browser import CHROMIUM, CHROMIUM_ARGS, wait_for, wall_page

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


class Console:
    """Everything a page reports that means the CSP (or anything else) broke it."""

    def __init__(self, page: Any) -> None:
        self.messages: list[str] = []
        page.on("console", lambda m: self.messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.messages.append(f"pageerror: {e}"))

    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m
                or "Refused to" in m or "pageerror" in m]


async def sign_in_on_dept(context: Any, base: str, console: list[Console]) -> Any:
    page = await context.new_page()
    console.append(Console(page))
    await page.goto(f"{base}/dept")
    await page.fill("#username", "dsdabm.staff")
    await page.fill("#password", "pantau-demo")
    await page.click("button[type=submit]")
    await page.wait_for_selector("#tickets")
    return page


ATTACK = """<!doctype html><html><body>
<form id="f" method="post" action="{base}/dept/tickets/{id}/note">
  <input name="body" value="pwned by a cross-site form"></form>
<script>
(async () => {{
  const out = {{}};
  const tries = {{
    ack: ["{base}/dept/tickets/{id}/acknowledge", "application/x-www-form-urlencoded",
          "version={version}"],
    note: ["{base}/dept/tickets/{id}/note", "application/x-www-form-urlencoded",
           "body=pwned+by+fetch"],
    api: ["{base}/api/tickets/{id}/notes", "text/plain",
          JSON.stringify({{body: "pwned by fetch as text/plain JSON"}})],
  }};
  for (const [name, [url, type, body]] of Object.entries(tries)) {{
    try {{
      const r = await fetch(url, {{method: "POST", credentials: "include", mode: "no-cors",
                                  headers: {{"Content-Type": type}}, body}});
      out[name] = "sent:" + r.type;
    }} catch (e) {{ out[name] = "error:" + e; }}
  }}
  // Cross-site WebSocket hijacking: read the department's live events.
  out.ws = await new Promise(resolve => {{
    const ws = new WebSocket("{ws}/api/events");
    ws.onmessage = m => {{ resolve("read:" + m.data.slice(0, 40)); ws.close(); }};
    ws.onclose = () => resolve("closed");
  }});
  window.attack = out;
}})();
</script></body></html>"""


async def attacker_site(ticket: dict[str, Any], base: str) -> web.AppRunner:
    page = ATTACK.format(base=base, ws=base.replace("http", "ws"), id=ticket["id"],
                         version=ticket["version"])

    async def index(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


async def test_another_site_cannot_act_with_a_department_users_browser(
        api: Api, server: TestServer, chromium: Any, caplog: pytest.LogCaptureFixture) -> None:
    op, t = await routed_ticket(api)
    base = api.base
    context = await chromium.new_context()
    consoles: list[Console] = []
    dept = await sign_in_on_dept(context, base, consoles)
    assert t["reference"] in await dept.inner_text("#tickets")

    runner = await attacker_site(t, base)
    evil_base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    evil = await context.new_page()
    try:
        await evil.goto(evil_base + "/")
        await evil.wait_for_function("window.attack !== undefined", timeout=10_000)
        results = await evil.evaluate("window.attack")
        # The requests left the browser (no-cors fetches are sent, unreadable)...
        assert results["ack"] == results["note"] == results["api"] == "sent:opaque", results
        assert results["ws"] == "closed", results  # never read a single event
        # ...and the form navigates the user to our refusal.
        async with evil.expect_navigation(url=f"{base}/dept/tickets/{t['id']}/note"):
            await evil.evaluate("document.getElementById('f').submit()")
        assert json.loads(await evil.inner_text("body"))["error"] == "cross_site"
    finally:
        await runner.cleanup()
    # The cookie did reach the server each time (same site): the origin rule refused.
    assert caplog.text.count("cross-site request refused") >= 4
    _, now = await op.get(f"/api/tickets/{t['id']}")
    assert now["status"] == "routed" and now["notes"] == [] and now["version"] == t["version"]

    # The same actions from the department page itself work.
    row = dept.locator(f"#t-{t['id']}")
    await row.locator("input[name=body]").fill("Tim sudah dikirim")
    await row.locator("form[action$='/note'] button").click()
    await dept.wait_for_url(f"{base}/dept?m=done")
    await dept.locator(f"#t-{t['id']} form[action$='/acknowledge'] button").click()
    await dept.wait_for_url(f"{base}/dept?m=done")
    _, now = await op.get(f"/api/tickets/{t['id']}")
    assert now["status"] == "acknowledged"
    assert [n["body"] for n in now["notes"]] == ["Tim sudah dikirim"]
    for c in consoles:
        assert not c.csp_violations(), c.messages
    await context.close()


async def test_public_and_department_pages_work_under_their_csp(
        api: Api, server: TestServer, chromium: Any) -> None:
    """/lapor (file a complaint, read its status), a missing status, /dept signed
    out and in with live updates, and a supervisor's report: no CSP violation."""
    op, t = await routed_ticket(api)
    context = await chromium.new_context()
    consoles: list[Console] = []
    page = await context.new_page()
    consoles.append(Console(page))
    await page.goto(f"{api.base}/lapor?lang=en")
    assert await page.evaluate("getComputedStyle(document.querySelector('header.top'))"
                               ".display") == "flex"  # the stylesheet applied
    await page.select_option("#category", "sampah")
    await page.fill("#description", "Sampah menumpuk di depan sekolah")
    await page.fill("#address", "Jl. Dago 120")
    await page.click("form[method=post] button[type=submit]")
    await page.wait_for_url("**/lapor/status/**")
    reference = (await page.inner_text("#reference")).strip()
    assert reference.startswith("BDG-")
    await page.goto(f"{api.base}/lapor/status/BDG-0000-00000")
    assert "reference" in (await page.inner_text("main")).lower()

    dept = await sign_in_on_dept(context, api.base, consoles)
    # Live: a change made elsewhere reloads the page by itself (WebSocket under CSP).
    status, _ = await op.post(f"/api/tickets/{t['id']}/notes", {"body": "cek"})
    assert status == 201
    _, moved = await op.post("/api/tickets", {"channel": "walk_in", "category": "jalan-rusak",
                                              "description": "Jalan amblas",
                                              "address": "Jl. Aceh"})
    async with dept.expect_navigation(timeout=10_000):
        await op.post(f"/api/tickets/{moved['id']}/route", {"version": moved["version"]})
    await dept.wait_for_selector(f"#t-{moved['id']}")

    supervisor = await api.login("supervisor")
    report = await context.new_page()
    consoles.append(Console(report))
    await report.set_extra_http_headers({"Authorization": f"Bearer {supervisor}"})
    await report.goto(f"{api.base}/api/reports/weekly?format=html&lang=en")
    assert await report.evaluate("getComputedStyle(document.body).maxWidth") != "none"
    assert await report.locator("svg").count() > 0
    for c in consoles:
        assert not c.csp_violations(), c.messages
    await context.close()


async def test_the_wall_pairs_and_plays_under_its_csp(streams_server: TestServer,
                                                     chromium: Any, db_url: str) -> None:
    """The kiosk page's script, styles, pairing, event stream and WHEP video all
    within its CSP (a violation would leave tiles black or the code unshown)."""
    base = base_of(streams_server)
    context = await chromium.new_context(viewport={"width": 1280, "height": 720})
    unpaired = await context.new_page()
    console = Console(unpaired)
    await unpaired.goto(f"{base}/wall/pusat-kota")
    await unpaired.wait_for_selector("body[data-pairing-code]", timeout=10_000)
    await context.close()
    assert not console.csp_violations(), console.messages

    monitor_id = await streams_server.app[pool_key].fetchval(
        "SELECT id FROM monitors WHERE code = 'pusat-kota'")
    page = await wall_page(chromium, streams_server, monitor_id, "pusat-kota")
    console = Console(page)
    await page.reload()
    await wait_for(page, lambda ts: len(ts) == 4 and all(t["frames"] > 3 for t in ts),
                   40, "wall playing under CSP")
    # The event stream is up too (the strip's link dot is what the page shows).
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/wall/pusat-kota") as resp:
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    await asyncio.sleep(0.5)
    assert not console.csp_violations(), console.messages
    await page.context.close()
