"""The wall in real headless Chromium: real RTSP camera, real relay, real WHEP.

Screenshots go to tests/artifacts/ (gitignored) so a failure can be looked at.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from server.auth import issue_wall_token
from server.keys import pool_key, services_key
from tests.conftest import PROJECT_ROOT, start_app
from tests.rtsp_camera import RtspCamera
from tests.test_wall_api import pantau

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.timeout(150)
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


@pytest.fixture
async def browser(streams_server: TestServer) -> AsyncIterator[Any]:
    """Chromium, closed before the server so shutdown does not wait on its connections."""
    async with playwright_api.async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
def rtsp_camera() -> Iterator[RtspCamera]:
    cam = RtspCamera()
    cam.start()
    yield cam
    cam.stop()


async def wall_page(browser: Any, server: TestServer, monitor_id: int, monitor: str,
                    size: tuple[int, int] = (1280, 720)) -> Any:
    token, _ = await issue_wall_token(server.app[pool_key], monitor_id, timedelta(hours=1))
    context = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    base = str(server.make_url("")).rstrip("/")
    await context.add_cookies([{"name": "pantau_token", "value": token, "url": base}])
    page = await context.new_page()
    await page.goto(f"{base}/wall/{monitor}")
    return page


async def tile_info(page: Any) -> list[dict[str, Any]]:
    return await page.evaluate("""() => [...document.querySelectorAll('#grid .tile')].map(t => {
        const v = t.querySelector('video');
        const q = v.getVideoPlaybackQuality();
        return {camera: t.dataset.cameraId ? Number(t.dataset.cameraId) : null,
                state: t.dataset.state, frames: Number(t.dataset.frames || 0),
                decoded: q.totalVideoFrames, width: v.videoWidth, height: v.videoHeight,
                zoomed: t.classList.contains('zoomed')};
    })""")


async def wait_for(page: Any, predicate: Any, timeout: float, what: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        tiles = await tile_info(page)
        if predicate(tiles):
            return tiles
        if time.monotonic() > deadline:
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / f"failed-{what.replace(' ', '-')}.png"))
            raise AssertionError(f"timed out waiting for {what}: {tiles}")
        await asyncio.sleep(0.2)


async def test_rtsp_camera_plays_goes_offline_and_recovers_without_reload(
        browser: Any, streams_server: TestServer, db_url: str,
        rtsp_camera: RtspCamera) -> None:
    conn = await asyncpg.connect(db_url)
    cam_id = await conn.fetchval(
        "UPDATE cameras SET source_kind = 'rtsp', source_url = $1 WHERE code = 'alun-alun'"
        " RETURNING id", rtsp_camera.url)
    monitor_id = await conn.fetchval("SELECT id FROM monitors WHERE code = 'pusat-kota'")
    await conn.close()
    page = await wall_page(browser, streams_server, monitor_id, "pusat-kota")
    loads = []
    page.on("load", lambda _: loads.append(1))

    def rtsp_tile(tiles: list[dict[str, Any]]) -> dict[str, Any]:
        return next((t for t in tiles if t["camera"] == cam_id),
                    {"frames": 0, "state": None, "width": 0, "height": 0, "decoded": 0})

    await wait_for(page, lambda ts: rtsp_tile(ts)["frames"] > 5, 20, "first frames")
    # Frame rate: count decoded frames over three seconds.
    before = rtsp_tile(await tile_info(page))
    await asyncio.sleep(3)
    after = rtsp_tile(await tile_info(page))
    fps = (after["frames"] - before["frames"]) / 3
    assert (after["width"], after["height"]) == (640, 360)
    assert after["decoded"] > before["decoded"]
    assert 11 <= fps <= 18, fps
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "wall-pusat-kota-2x2.png"))

    rtsp_camera.stop()
    t0 = time.monotonic()
    await wait_for(page, lambda ts: rtsp_tile(ts)["state"] == "offline", 5, "offline tile")
    offline_after = time.monotonic() - t0
    await page.screenshot(path=str(ARTIFACTS / "wall-camera-offline.png"))

    rtsp_camera.start()
    t0 = time.monotonic()
    frames = rtsp_tile(await tile_info(page))["frames"]
    await wait_for(page, lambda ts: rtsp_tile(ts)["state"] == "playing"
                   and rtsp_tile(ts)["frames"] > frames + 5, 5, "video resumes")
    resumed_after = time.monotonic() - t0
    assert len(loads) == 0  # recovered without a reload
    print(f"offline shown after {offline_after:.1f}s, resumed after {resumed_after:.1f}s, "
          f"{fps:.1f} fps")

    # Server-driven: an operator sends another camera to position 1; the wall follows.
    async with asyncio.timeout(10):
        base = str(streams_server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{base}/api/auth/login",
                              json={"username": "operator", "password": "pantau-demo"}) as r:
                token = (await r.json())["token"]
            t0 = time.monotonic()
            async with s.put(f"{base}/api/monitors/pusat-kota/slots/1", json={"camera_id": 7},
                             headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200
    await wait_for(page, lambda ts: ts[1]["camera"] == 7, 1.0, "layout change")
    assert time.monotonic() - t0 < 1.0

    # Keyboard: "1" fills the wall with tile 1, Escape returns to the grid.
    await page.keyboard.press("1")
    assert (await tile_info(page))[0]["zoomed"]
    await page.keyboard.press("Escape")
    assert not any(t["zoomed"] for t in await tile_info(page))


async def test_4x6_wall_decodes_all_24_cameras(
        browser: Any, streams_server: TestServer, db_url: str) -> None:
    page = await wall_page(browser, streams_server, 1, "main", size=(1920, 1080))
    tiles = await wait_for(page, lambda ts: len(ts) == 24 and all(t["frames"] > 3 for t in ts),
                           60, "24 playing tiles")
    assert len({t["camera"] for t in tiles}) == 24
    assert all((t["width"], t["height"]) == (640, 360) for t in tiles)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "wall-main-4x6.png"))


async def test_unpaired_wall_shows_a_code_pairs_and_stops_when_revoked(
        browser: Any, streams_server: TestServer, db_url: str) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    base = str(streams_server.make_url("")).rstrip("/")
    await page.goto(f"{base}/wall/pusat-kota")
    await page.wait_for_selector("body[data-pairing-code]", timeout=10_000)
    code = await page.get_attribute("body", "data-pairing-code")
    assert code and await page.is_visible("#pairing")
    await page.screenshot(path=str(ARTIFACTS / "wall-pairing.png"))
    done = await pantau(db_url, "wall", "pair", code, "--monitor", "pusat-kota")
    assert done.returncode == 0, done.stderr
    await wait_for(page, lambda ts: len(ts) == 4 and any(t["frames"] > 0 for t in ts),
                   20, "paired wall playing")
    cookies = {c["name"]: c for c in await context.cookies()}
    assert cookies["pantau_token"]["httpOnly"]

    sessions = streams_server.app[services_key]["streams"].sessions.sessions
    assert sessions
    gone = await pantau(db_url, "wall", "revoke", "pusat-kota", "--yes")
    assert gone.returncode == 0
    t0 = time.monotonic()
    await wait_for(page, lambda ts: len(ts) == 0, 5, "revoked wall stops")
    while sessions:  # the server ended the wall's video itself, not only the page
        assert time.monotonic() - t0 < 5, sessions
        await asyncio.sleep(0.1)
    await context.close()


async def test_alarm_pops_up_with_its_nearest_cameras_until_acknowledged(
        browser: Any, streams_server: TestServer, db_url: str) -> None:
    from tortoise.transactions import in_transaction

    from db import events

    pool = streams_server.app[pool_key]
    monitor_id = await pool.fetchval("SELECT id FROM monitors WHERE code = 'pusat-kota'")
    page = await wall_page(browser, streams_server, monitor_id, "pusat-kota")
    await wait_for(page, lambda ts: len(ts) == 4, 10, "wall up")
    device = await pool.fetchrow("SELECT id, code, address, lat, lon FROM devices LIMIT 1")
    # One of the monitor's own cameras and one it may watch only while the alarm lasts.
    nearest = [{"code": "braga", "name": "Jl. Braga", "distance_m": 120},
               {"code": "simpang-dago", "name": "Simpang Dago", "distance_m": 300}]
    alarm_id = await pool.fetchval(
        "INSERT INTO panic_alarms (device_id, idempotency_key, lat, lon, nearest_cameras)"
        " VALUES ($1, 'wall-test', $2, $3, $4::jsonb) RETURNING id",
        device["id"], device["lat"], device["lon"], json.dumps(nearest))
    alarm = {"id": alarm_id, "status": "raised", "address": device["address"],
             "device": device["code"], "lat": device["lat"], "lon": device["lon"],
             "nearest_cameras": nearest}
    async with in_transaction() as tx:  # as the panic module does (issue #5)
        await events.append(tx, "alarm.raised", "alarm", alarm_id, "test", {"alarm": alarm})
    await page.wait_for_selector("#alarm-popup:not(.hidden)", timeout=3000)
    assert device["address"] in await page.inner_text("#alarm-where")
    await page.wait_for_function(
        """() => [...document.querySelectorAll('#alarm-cams .tile')]
                 .filter(t => Number(t.dataset.frames || 0) > 2).length === 2""", timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "wall-alarm-popup.png"))
    assert "alarm" in (await page.inner_text("#alarms")).lower()

    await pool.execute("UPDATE panic_alarms SET status = 'acknowledged',"
                       " acknowledged_at = now() WHERE id = $1", alarm_id)
    async with in_transaction() as tx:
        await events.append(tx, "alarm.acknowledged", "alarm", alarm_id, "test", {})
    await page.wait_for_selector("#alarm-popup.hidden", state="attached", timeout=3000)
    assert await page.locator("#alarm-cams .tile").count() == 0


async def test_wall_recovers_by_itself_after_a_server_restart(db_url: str) -> None:
    srv = await start_app(db_url, start_streams=True)
    port = srv.port
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            monitor_id = await srv.app[pool_key].fetchval(
                "SELECT id FROM monitors WHERE code = 'pusat-kota'")
            page = await wall_page(chromium, srv, monitor_id, "pusat-kota")
            loads: list[int] = []
            page.on("load", lambda _: loads.append(1))
            tiles = await wait_for(page, lambda ts: len(ts) == 4
                                   and all(t["frames"] > 5 for t in ts), 30, "wall playing")
            await srv.close()
            await asyncio.sleep(1.0)
            srv = await start_app(db_url, port=port, start_streams=True)
            t0 = time.monotonic()
            before = {t["camera"]: t["frames"] for t in await tile_info(page)}
            await wait_for(page, lambda ts: all(t["frames"] > before[t["camera"]] + 5
                                                and t["state"] == "playing" for t in ts),
                           30, "wall after restart")
            print(f"wall playing again {time.monotonic() - t0:.1f}s after the restart")
            assert not loads and len(tiles) == 4
            await page.context.close()
        finally:
            await chromium.close()
            await srv.close()


async def test_rotating_monitor_pages_through_its_cameras(
        browser: Any, streams_server: TestServer) -> None:
    pool = streams_server.app[pool_key]
    monitor_id = await pool.fetchval(
        "UPDATE monitors SET rotation_seconds = 8 WHERE code = 'rotasi' RETURNING id")
    slots = [r["camera_id"] for r in await pool.fetch(
        "SELECT camera_id FROM monitor_cameras WHERE monitor_id = $1 ORDER BY position",
        monitor_id)]
    page = await wall_page(browser, streams_server, monitor_id, "rotasi")
    first = await wait_for(page, lambda ts: len(ts) == 9 and ts[0]["camera"] is not None,
                           10, "first page")
    assert [t["camera"] for t in first] == slots[:9]
    second = await wait_for(page, lambda ts: ts[0]["camera"] == slots[9], 10, "second page")
    t0 = time.monotonic()
    assert [t["camera"] for t in second] == slots[9:18]
    await wait_for(page, lambda ts: all(t["frames"] > 0 and t["width"] == 640 for t in ts),
                   7, "second page plays")
    print(f"second page playing {time.monotonic() - t0:.1f}s after it was shown")


async def test_wall_shows_understaffing_and_greys_its_counters_while_disconnected(
        db_url: str) -> None:
    """The strip says when the open shift is below its minimums (as the console and
    wall-term do), and while the event stream is down its figures are greyed and
    say since when they were not updated; both clear by themselves."""
    srv = await start_app(db_url)
    port = srv.port
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pool = srv.app[pool_key]
            monitor_id = await pool.fetchval("SELECT id FROM monitors WHERE code = 'pusat-kota'")
            page = await wall_page(chromium, srv, monitor_id, "pusat-kota")
            await page.wait_for_function(
                "() => document.getElementById('c-open').textContent !== '–'", timeout=10_000)
            assert await page.is_hidden("#staffing") and await page.is_hidden("#stale")

            base = str(srv.make_url("")).rstrip("/")
            async with aiohttp.ClientSession() as s:
                async with s.post(f"{base}/api/auth/login", json={
                        "username": "supervisor", "password": "pantau-demo"}) as r:
                    auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
                async with s.get(f"{base}/api/shifts/current", headers=auth) as r:
                    shift = await r.json()
                # Opened with nobody checked in yet: every role is short.
                async with s.post(f"{base}/api/shifts/{shift['id']}/open", json={},
                                  headers=auth) as r:
                    assert r.status == 200, await r.text()
                async with s.get(f"{base}/api/board", headers=auth) as r:
                    short = (await r.json())["shift"]["shortfall"]
            assert short["call_center"] >= 15
            await page.wait_for_selector("#staffing:not(.hidden)", timeout=5000)
            text = await page.inner_text("#staffing")
            assert "KURANG PERSONEL" in text
            assert f"call center −{short['call_center']}" in text
            assert f"polisi −{short['police']}" in text
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "wall-understaffed.png"))
            await page.reload()  # and from the first frame after a reload
            await page.wait_for_selector("#staffing:not(.hidden)", timeout=10_000)

            await srv.close()
            await page.wait_for_selector("#stale:not(.hidden)", timeout=5000)
            assert "tidak terbarui sejak" in await page.inner_text("#stale")
            assert "stale" in (await page.get_attribute("#strip", "class") or "")
            opacity = await page.evaluate(
                "() => Number(getComputedStyle(document.getElementById('counters')).opacity)")
            assert opacity < 0.6
            await page.screenshot(path=str(ARTIFACTS / "wall-stale.png"))

            srv = await start_app(db_url, port=port)
            await page.wait_for_selector("#stale", state="hidden", timeout=15_000)
            assert "stale" not in (await page.get_attribute("#strip", "class") or "")
            assert not await page.is_hidden("#staffing")
            await page.context.close()
        finally:
            await chromium.close()
            await srv.close()
