"""The terminal operations wall against the real server: alarms, counters, outages,
who may open it, and that it changes nothing."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from server.alarms.client import DeviceClient
from tests.conftest import Api
from tests.test_console_support import base_url, start_server, wait_for
from tui.client import ApiClient
from tui.opswall.app import OpsWallApp
from tui.opswall.panels import AlarmBanner, CountersPanel, StatusBar

BIG = (200, 60)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(tmp_path / "config"))


class RecordingClient(ApiClient):
    """The real client, noting every method it uses: the wall must only read."""

    methods: list[str]

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        self.methods = [*getattr(self, "methods", []), method]
        return await super().request(method, path, **kw)


async def _wall(base: str, token: str) -> tuple[OpsWallApp, RecordingClient]:
    client = RecordingClient(base, token)
    return OpsWallApp(client, rotate_seconds=60), client


def _text(widget: Any) -> str:
    return str(widget.render())


async def test_alarm_appears_within_a_second_and_clears_on_acknowledgement(api: Api) -> None:
    supervisor = await api.login("supervisor")
    status, enrolled = await api.post("/api/devices", {
        "code": "wall-term-1", "owner_name": "Ibu Wulan", "owner_kind": "citizen",
        "address": "Jl. Cihampelas No. 5", "district": "coblong",
        "lat": -6.8938, "lon": 107.6045, "contacts": []}, token=supervisor)
    assert status == 201, enrolled
    app, client = await _wall(api.base, await api.login("operator"))
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=BIG) as pilot:
        await wait_for(lambda: app.state.live and app.board_loads, pilot=pilot)
        banner = app.query_one(AlarmBanner)
        assert not banner.display
        press = await DeviceClient(api.base, "wall-term-1", enrolled["secret"],
                                   api.session).press()
        await wait_for(lambda: banner.display, pilot=pilot, timeout=1.0)
        assert "Ibu Wulan" in _text(banner) and "Jl. Cihampelas" in _text(banner) and bells
        status, _ = await api.post(f"/api/alarms/{press.alarm_id}/acknowledge",
                                   token=supervisor)
        assert status == 200
        await wait_for(lambda: not banner.display, pilot=pilot, timeout=1.0)
        assert "acknowledged" in _text(app.query_one("#alarms"))
    assert set(client.methods) == {"GET"}


async def test_counters_follow_ticket_changes(api: Api) -> None:
    operator = await api.login("operator")
    app, _ = await _wall(api.base, operator)
    async with app.run_test(size=BIG) as pilot:
        await wait_for(lambda: app.state.live and app.board_loads, pilot=pilot)
        before = app.state.board["queue"]["by_priority"]["1"]  # type: ignore[index]
        status, ticket = await api.post("/api/tickets", {
            "channel": "cctv", "category": "kebakaran", "priority": 1,
            "description": "Asap tebal terlihat di CCTV Braga", "district": "sumur-bandung"},
            token=operator)
        assert status == 201, ticket
        await wait_for(lambda: app.state.board["queue"]["by_priority"]["1"]  # type: ignore[index]
                       == before + 1, pilot=pilot, timeout=3)
        assert f"P1 {before + 1}" in _text(app.query_one(CountersPanel))
        assert f"{ticket['reference']}: Filed (CCTV) by operator" in _text(app.query_one("#ticker"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_shows_stale_data_and_catches_up_after_a_server_restart(db_url: str) -> None:
    port = _free_port()
    srv = await start_server(db_url, port)
    url = base_url(srv)
    helper = ApiClient(url)
    await helper.login("operator", "pantau-demo")
    app, _ = await _wall(url, str(helper.token))
    try:
        async with app.run_test(size=BIG) as pilot:
            await wait_for(lambda: app.state.live and app.board_loads, pilot=pilot)
            await srv.close()
            await wait_for(lambda: "STALE" in _text(app.query_one(StatusBar)), pilot=pilot)
            before = app.state.board["queue"]["open"]  # type: ignore[index]
            # a ticket filed through another server while this one is down
            other = await start_server(db_url)
            other_client = ApiClient(base_url(other))
            await other_client.login("operator", "pantau-demo")
            await other_client.post("/api/tickets", {
                "channel": "walk_in", "category": "sampah", "priority": 3,
                "description": "Sampah menumpuk di pasar", "district": "andir"})
            await other_client.close()
            await other.close()
            srv = await start_server(db_url, port)
            await wait_for(lambda: "live" in _text(app.query_one(StatusBar)), pilot=pilot,
                           timeout=20)
            await wait_for(lambda: app.state.board["queue"]["open"]  # type: ignore[index]
                           == before + 1, pilot=pilot)
    finally:
        await helper.close()
        await srv.close()


async def test_a_paired_wall_may_open_it_department_staff_may_not(api: Api,
                                                                  db_url: str) -> None:
    from server.auth import issue_wall_token

    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1)
    monitor_id = await pool.fetchval("SELECT id FROM monitors WHERE code = 'main'")
    wall_token, _ = await issue_wall_token(pool, monitor_id, timedelta(hours=1))
    await pool.close()
    status, board = await api.get("/api/board", token=wall_token)
    assert status == 200 and set(board) >= {"queue", "sla", "alarms", "shift"}
    assert "reporter" not in str(board)
    status, _ = await api.get("/api/board", token=await api.login("dsdabm.staff"))
    assert status == 403
    assert (await api.get("/api/board"))[0] == 401
    app, _ = await _wall(api.base, wall_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.state.live and app.board_loads, pilot=pilot)
        assert "OPEN" in _text(app.query_one(CountersPanel))


async def test_latest_events_show_what_happened_before_the_wall_started(api: Api) -> None:
    """The ticker starts with the recent history, then follows the stream from
    exactly where it ends: nothing twice, nothing missed."""
    operator = await api.login("operator")
    status, before = await api.post("/api/tickets", {
        "channel": "cctv", "category": "kebakaran", "priority": 1,
        "description": "Asap dari gudang", "district": "andir"}, token=operator)
    assert status == 201, before
    status, recent = await api.get("/api/events/recent?limit=5&kinds=ticket.", token=operator)
    assert status == 200 and recent["items"][-1]["payload"]["reference"] == before["reference"]
    assert all(e["kind"].startswith("ticket.") for e in recent["items"])
    assert recent["last_id"] >= recent["items"][-1]["id"]
    app, _ = await _wall(api.base, operator)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(lambda: app.state.live and app.history_loaded, pilot=pilot)
        def line_of(ref: str) -> int:
            texts = [t.text for t in app.state.ticker]
            return next(k for k, text in enumerate(texts) if ref in text)

        assert app.state.ticker[line_of(before["reference"])].kind == "ticket.created"
        status, after = await api.post("/api/tickets", {
            "channel": "cctv", "category": "banjir", "description": "Genangan",
            "district": "andir"}, token=operator)
        assert status == 201
        await wait_for(lambda: any(after["reference"] in t.text for t in app.state.ticker),
                       pilot=pilot, timeout=2.0)
        assert line_of(after["reference"]) < line_of(before["reference"])  # newest first
        ids = [t.event_id for t in app.state.ticker]
        assert len(ids) == len(set(ids))  # nothing twice


async def test_recent_events_are_bounded_and_shaped_for_who_asks(api: Api, db_url: str) -> None:
    operator = await api.login("operator")
    for bad in ("0", "101", "x", "-1"):
        status, body = await api.get(f"/api/events/recent?limit={bad}", token=operator)
        assert status == 400 and body["fields"] == {"limit": "1..100"}
    status, _ = await api.get("/api/events/recent?kinds=ticket.%00", token=operator)
    assert status == 400
    status, _ = await api.get("/api/events/recent")
    assert status == 401
    staff = await api.login("dsdabm.staff")
    status, body = await api.get("/api/events/recent?limit=100", token=staff)
    assert status == 200
    conn = await asyncpg.connect(db_url)
    dept_id = await conn.fetchval("SELECT id FROM departments WHERE code = 'dsdabm'")
    await conn.close()
    assert body["items"] and all(e["department_id"] == dept_id for e in body["items"])


async def test_sla_board_at_200x50_shows_every_department(api: Api) -> None:
    app, _ = await _wall(api.base, await api.login("operator"))
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(lambda: app.state.live and app.board_loads, pilot=pilot)
        await pilot.pause()
        app.redraw()
        shown = _text(app.query_one("#sla"))
        codes = [d["code"] for d in app.state.board["sla"]]  # type: ignore[index]
        assert len(codes) == 12
        assert all(code.upper() in shown for code in codes), shown
        assert "more departments" not in shown
