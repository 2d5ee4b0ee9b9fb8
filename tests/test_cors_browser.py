"""A third-party WHEP player on another origin, in real headless Chromium.

The player is medooze's `whep.js` from npm (tests/vendor/whip-whep/), served by
a page on another port of 127.0.0.1: another origin. On the origin listed in
PANTAU_CORS_ORIGINS the page signs in through the API, plays a camera (frames
decoded, time advancing) and ends its session with DELETE, every request
preflighted by the browser. On an origin that is not listed, even with a valid
token, the browser refuses before the offer reaches the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.keys import services_key
from tests.conftest import PROJECT_ROOT, base_of, start_app
from tests.test_wall_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.timeout(150)
WHEP_JS = PROJECT_ROOT / "tests" / "vendor" / "whip-whep" / "whep.js"
CAMERA = 4  # a synthetic camera of the demo city

PLAYER = """<!doctype html><html><body>
<video id="v" autoplay muted playsinline></video>
<script type="module">
import { WHEPClient } from "/whep.js";
const q = new URLSearchParams(location.search);
const base = q.get("base");
window.result = null;
(async () => {
  try {
    let token = q.get("token");
    if (!token) {  // sign in like any browser app would, across origins
      const r = await fetch(base + "/api/auth/login", {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({username: "operator", password: "pantau-demo"})});
      token = (await r.json()).token;
    }
    const pc = new RTCPeerConnection();
    pc.addTransceiver("video", {direction: "recvonly"});
    pc.ontrack = (e) => {
      const v = document.getElementById("v");
      v.srcObject = e.streams[0] || new MediaStream([e.track]);
      v.play().catch(() => {});
    };
    window.client = new WHEPClient();
    await window.client.view(pc, base + "/whep/cameras/" + q.get("camera"), token);
    window.result = "viewing";
  } catch (e) {
    window.result = "error: " + e;
  }
})();
</script></body></html>"""


async def player_site() -> web.AppRunner:
    async def index(_: web.Request) -> web.Response:
        return web.Response(text=PLAYER, content_type="text/html")

    async def script(_: web.Request) -> web.Response:
        return web.Response(body=WHEP_JS.read_bytes(), content_type="text/javascript")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/whep.js", script)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def origin_of(runner: web.AppRunner) -> str:
    return f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def sites(db_url: str, monkeypatch: pytest.MonkeyPatch
                ) -> AsyncIterator[tuple[TestServer, str, str]]:
    allowed, other = await player_site(), await player_site()
    monkeypatch.setenv("PANTAU_CORS_ORIGINS", origin_of(allowed))
    srv = await start_app(db_url, start_streams=True)
    yield srv, origin_of(allowed), origin_of(other)
    await srv.close()
    await allowed.cleanup()
    await other.cleanup()


@pytest.fixture
async def chromium(sites: Any) -> AsyncIterator[Any]:
    """Closed before the servers, so their shutdown does not wait on its connections."""
    async with playwright_api.async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def video_state(page: Any) -> dict[str, Any]:
    return await page.evaluate("""() => {
        const v = document.getElementById('v');
        return {result: window.result, width: v.videoWidth, time: v.currentTime,
                decoded: v.getVideoPlaybackQuality().totalVideoFrames};
    }""")


async def wait_until(page: Any, check: Any, timeout: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = await video_state(page)
        if check(state):
            return state
        if time.monotonic() > deadline:
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / f"cors-{what.replace(' ', '-')}.png"))
            raise AssertionError(f"timed out waiting for {what}: {state}")
        await asyncio.sleep(0.2)


async def test_a_whep_player_on_an_allowed_origin_plays_and_another_is_refused(
        sites: tuple[TestServer, str, str], chromium: Any) -> None:
    srv, allowed, other = sites
    base = base_of(srv)
    sessions = srv.app[services_key]["streams"].sessions.sessions
    messages: list[str] = []

    page = await (await chromium.new_context()).new_page()
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    await page.goto(f"{allowed}/?base={base}&camera={CAMERA}")
    first = await wait_until(page, lambda s: s["result"] is not None and s["width"] > 0
                             and s["time"] > 0, 30, "allowed player plays")
    assert first["result"] == "viewing" and first["width"] == 640, first
    later = await wait_until(page, lambda s: s["time"] > first["time"] + 1.0, 10,
                             "time advancing")
    assert later["decoded"] > first["decoded"]
    assert len(sessions) == 1
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "cors-player-playing.png"))
    # The player's own stop(): a cross-origin DELETE, preflighted, ends the session.
    await page.evaluate("window.client.stop()")
    t0 = time.monotonic()
    while sessions:
        assert time.monotonic() - t0 < 5, "the DELETE did not end the session"
        await asyncio.sleep(0.1)

    # Another origin, even holding a valid token: the preflight is refused, so the
    # offer never reaches the server and nothing plays.
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.post(f"{base}/api/auth/login",
                          json={"username": "operator", "password": "pantau-demo"}) as r:
            token = (await r.json())["token"]
    refused = await (await chromium.new_context()).new_page()
    await refused.goto(f"{other}/?base={base}&camera={CAMERA}&token={token}")
    state = await wait_until(refused, lambda s: s["result"] is not None, 15, "refusal")
    assert state["result"].startswith("error:") and "fetch" in state["result"].lower(), state
    assert state["width"] == 0 and not sessions
