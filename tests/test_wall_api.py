"""Wall displays over HTTP: pairing through the CLI, revocation, layouts, the strip."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer

from server.auth import issue_wall_token
from server.keys import pool_key
from tests.conftest import PROJECT_ROOT, Api, next_event

pytestmark = pytest.mark.timeout(60)


async def pantau(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI, as a supervisor would type it."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", "from server.cli import main; main()", *args,
                         "--database-url", db_url],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)


async def test_wall_pairs_with_a_code_and_stops_when_revoked(
        api: Api, db_url: str) -> None:
    status, page = await api.get("/wall/main")
    assert status == 200 and "wall.js" in page and 'data-monitor="&#34;main&#34;"' in page
    status, pairing = await api.post("/api/wall/pairings", {"monitor": "main"})
    assert status == 201 and len(pairing["code"]) == 6
    status, body = await api.post("/api/wall/pairings/claim", {"claim": pairing["claim"]})
    assert status == 202 and body["status"] == "pending"

    bad = await pantau(db_url, "wall", "pair", "ZZZZZZ", "--monitor", "main")
    assert bad.returncode == 1 and "no wall is showing that code" in bad.stderr
    done = await pantau(db_url, "wall", "pair", pairing["code"].lower(), "--monitor", "main")
    assert done.returncode == 0, done.stderr

    async with api.session.post(f"{api.base}/api/wall/pairings/claim",
                                json={"claim": pairing["claim"]}) as resp:
        assert resp.status == 200
        cookie = resp.cookies["pantau_token"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        token = cookie.value
    status, _ = await api.post("/api/wall/pairings/claim", {"claim": pairing["claim"]})
    assert status == 410  # a claim works once

    status, me = await api.get("/api/wall/me", token=token)
    assert status == 200 and me["monitor"] == "main"
    status, monitor = await api.get("/api/monitors/main", token=token)
    assert status == 200 and (monitor["rows"], monitor["cols"]) == (4, 6)
    assert len(monitor["slots"]) == 24 and monitor["slots"][0]["camera"]["district"]
    status, _ = await api.get("/api/monitors/pusat-kota", token=token)
    assert status == 403  # a wall reads only its own monitor
    status, _ = await api.get("/api/people", token=token)
    assert status in (401, 403)

    listed = await pantau(db_url, "wall", "list")
    assert pairing["code"] in listed.stdout and "claimed" in listed.stdout
    gone = await pantau(db_url, "wall", "revoke", "main", "--yes")
    assert gone.returncode == 0 and "revoked 1" in gone.stdout
    status, _ = await api.get("/api/wall/me", token=token)
    assert status == 401


async def test_supervisor_pairs_and_revokes_a_wall_over_the_api(api: Api) -> None:
    """What the console's approval screen uses."""
    status, pairing = await api.post("/api/wall/pairings", {"monitor": "rotasi"})
    assert status == 201
    operator = await api.login("operator")
    status, _ = await api.post(f"/api/wall/pairings/{pairing['code']}/approve",
                               {"monitor": "rotasi"}, token=operator)
    assert status == 403
    supervisor = await api.login("supervisor")
    status, waiting = await api.get("/api/wall/pairings", token=supervisor)
    assert status == 200 and any(p["code"] == pairing["code"] and p["state"] == "waiting"
                                 for p in waiting)
    status, body = await api.post(f"/api/wall/pairings/{pairing['code']}/approve",
                                  {"monitor": "rotasi"}, token=supervisor)
    assert status == 200 and body["state"] == "approved"
    status, _ = await api.post(f"/api/wall/pairings/{pairing['code']}/approve",
                               {"monitor": "rotasi"}, token=supervisor)
    assert status == 409
    async with api.session.post(f"{api.base}/api/wall/pairings/claim",
                                json={"claim": pairing["claim"]}) as resp:
        assert resp.status == 200
        wall_token = resp.cookies["pantau_token"].value
    status, me = await api.get("/api/wall/me", token=wall_token)
    assert status == 200 and me["monitor"] == "rotasi"
    status, body = await api.post("/api/monitors/rotasi/revoke-walls", token=supervisor)
    assert status == 200 and body["revoked"] == 1
    status, _ = await api.get("/api/wall/me", token=wall_token)
    assert status == 401


async def test_operator_sends_a_camera_to_a_monitor_position(
        api: Api, server: TestServer) -> None:
    wall_token, _ = await issue_wall_token(server.app[pool_key], 2, timedelta(hours=1))
    events = await api.ws(token=wall_token)
    await events.receive_json()  # hello
    operator = await api.login("operator")
    status, monitor = await api.request("PUT", "/api/monitors/pusat-kota/slots/3",
                                        json={"camera_id": 20}, token=operator)
    assert status == 200
    assert {"position": 3, "camera": monitor["slots"][3]["camera"]} in monitor["slots"]
    assert monitor["slots"][3]["camera"]["id"] == 20
    event = await next_event(events, "monitor.updated", timeout=3)
    assert event["payload"] == {"monitor": "pusat-kota", "position": 3, "camera_id": 20}
    await events.close()

    staff = await api.login("dsdabm.staff")
    status, _ = await api.request("PUT", "/api/monitors/pusat-kota/slots/0",
                                  json={"camera_id": 1}, token=staff)
    assert status == 403
    status, _ = await api.request("PUT", "/api/monitors/pusat-kota/slots/99",
                                  json={"camera_id": 1}, token=operator)
    assert status == 400
    status, _ = await api.request("PUT", "/api/monitors/pusat-kota/slots/0",
                                  json={"camera_id": 9999}, token=operator)
    assert status == 404
    status, _ = await api.request("PATCH", "/api/monitors/pusat-kota",
                                  json={"layout": "3x3"}, token=operator)
    assert status == 403  # layouts are a supervisor's call
    supervisor = await api.login("supervisor")
    status, monitor = await api.request("PATCH", "/api/monitors/pusat-kota",
                                        json={"layout": "3x3"}, token=supervisor)
    assert status == 200 and (monitor["rows"], monitor["cols"]) == (3, 3)
    status, _ = await api.request("PATCH", "/api/monitors/pusat-kota",
                                  json={"layout": "9x9"}, token=supervisor)
    assert status == 400


async def test_wall_strip_counts_the_queue(api: Api, server: TestServer) -> None:
    wall_token, _ = await issue_wall_token(server.app[pool_key], 1, timedelta(hours=1))
    status, summary = await api.get("/api/wall/summary", token=wall_token)
    assert status == 200
    assert summary["queue"]["open"] > 0 and isinstance(summary["alarms"], list)
    status, _ = await api.get("/api/wall/summary")
    assert status == 401
