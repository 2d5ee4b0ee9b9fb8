"""The wall page speaks its monitor's language from the first frame, in real Chromium,
and follows a change of the monitor's language without a reload."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from db import events
from server.keys import pool_key
from server.routes.wall import update_monitor
from tests.test_wall_browser import ARTIFACTS, browser, wait_for, wall_page

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.timeout(150)
__all__ = ["browser"]  # the fixture, used by name


async def _raise_alarm(pool: Any) -> None:
    from tortoise.transactions import in_transaction

    device = await pool.fetchrow("SELECT id, code, address, lat, lon FROM devices LIMIT 1")
    alarm_id = await pool.fetchval(
        "INSERT INTO panic_alarms (device_id, idempotency_key, lat, lon, nearest_cameras)"
        " VALUES ($1, 'lang-test', $2, $3, '[]'::jsonb) RETURNING id",
        device["id"], device["lat"], device["lon"])
    alarm = {"id": alarm_id, "status": "raised", "address": device["address"],
             "device": device["code"], "lat": device["lat"], "lon": device["lon"]}
    async with in_transaction() as tx:
        await events.append(tx, "alarm.raised", "alarm", alarm_id, "test", {"alarm": alarm})


async def test_wall_page_is_english_when_its_monitor_is(
        browser: Any, streams_server: TestServer) -> None:
    pool = streams_server.app[pool_key]
    await update_monitor("pusat-kota", {"language": "en"}, "test")
    monitor_id = await pool.fetchval("SELECT id FROM monitors WHERE code = 'pusat-kota'")
    page = await wall_page(browser, streams_server, monitor_id, "pusat-kota")
    # The first frame, before any script ran: the server wrote the monitor's words.
    html = await page.content()
    assert '<html lang="en">' in html and "overdue" in html and "lewat SLA" not in html
    await wait_for(page, lambda ts: len(ts) == 4, 10, "wall up")
    strip = await page.inner_text("#strip")
    assert "open" in strip and "overdue" in strip and "terbuka" not in strip
    await _raise_alarm(pool)
    await page.wait_for_selector("#alarm-popup:not(.hidden)", timeout=5000)
    assert "PANIC ALARM" in await page.inner_text("#alarm-popup")
    await page.wait_for_function(
        "() => document.getElementById('alarms').textContent.startsWith('⚠ 1 alarm:')",
        timeout=5000)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "wall-english.png"))

    # A supervisor switches the monitor to Indonesian: the page follows, no reload.
    await page.evaluate("window.notReloaded = true")
    await update_monitor("pusat-kota", {"language": "id"}, "test")
    await page.wait_for_function("() => document.documentElement.lang === 'id'", timeout=5000)
    strip = await page.inner_text("#strip")
    assert "terbuka" in strip and "lewat SLA" in strip and "overdue" not in strip
    assert "ALARM PANIK" in await page.inner_text("#alarm-popup")
    assert await page.evaluate("window.notReloaded") is True


async def test_wall_strings_api(streams_server: TestServer) -> None:
    import aiohttp

    base = str(streams_server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/wall/strings?lang=en") as resp:
            body = await resp.json()
        assert resp.status == 200 and body["lang"] == "en"
        assert body["strings"]["overdue"] == "overdue" and body["strings"]["locale"] == "en-GB"
        assert body["plurals"]["alarms"] == {"one": "⚠ {n} alarm:", "other": "⚠ {n} alarms:"}
        for bad in ("fr", "", "en\x00", "x" * 5000):
            async with s.get(f"{base}/api/wall/strings", params={"lang": bad}) as resp:
                assert resp.status == 400
