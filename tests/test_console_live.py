"""Live behaviour of the console against the real server: events, filter, outages, roles."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from server.alarms.client import DeviceClient
from tests.test_console_app import SIZE, count_label, queue_ready, signed_in
from tests.test_console_support import base_url, start_server, wait_for
from tui import config
from tui.app import PantauApp
from tui.client import ApiClient, StreamState
from tui.screens.alarms import AlarmsScreen
from tui.screens.cameras import CamerasScreen
from tui.screens.modals import ConfirmModal, PickerModal
from tui.screens.shift import ShiftScreen
from tui.widgets.chrome import AlarmBanner, StatusBar
from tui.widgets.ticket_table import TicketTable


@pytest.fixture(autouse=True)
def config_home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(tmp_path / "config"))


def prio_cell(table: TicketTable, ticket_id: int) -> str:
    return str(table.get_cell(str(ticket_id), "prio"))


async def test_filter_by_district_shows_n_of_m(api: Any) -> None:
    token = await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        table = await queue_ready(app, pilot)
        total = table.row_count
        district = next(tk["district"] for tk in app.store.open_tickets() if tk["district"])
        _, body = await api.get("/api/tickets", params={"district": district["code"]},
                                token=token)
        expected = body["total"]
        assert 0 < expected < total
        await pilot.press("slash", *f"d:{district['code']}")
        await wait_for(lambda: count_label(app) == f"{expected} of {total}", pilot=pilot)
        assert table.row_count == expected
        assert {tk["district"]["code"] for tk in table.shown.values()} == {district["code"]}
        await pilot.press("enter", "escape")
        await wait_for(lambda: count_label(app) == f"{total} of {total}", pilot=pilot)
        assert table.has_focus


async def test_an_event_updates_one_row_and_the_cursor_stays_on_its_ticket(api: Any) -> None:
    await signed_in(api, "operator")
    supervisor = await api.login("supervisor")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        table = await queue_ready(app, pilot)
        order = [int(str(row.key.value)) for row in table.ordered_rows]
        watched = order[2]
        table.move_cursor(row=2)
        # A low-priority ticket further down becomes P1: it moves up, the cursor does not.
        target = next(tk for tk in (app.store.get(i) for i in order[3:])
                      if tk and tk["priority"] >= 3)
        status, body = await api.post(f"/api/tickets/{target['id']}/triage",
                                      {"version": target["version"], "priority": 1},
                                      token=supervisor)
        assert status == 200, body
        await wait_for(lambda: prio_cell(table, target["id"]) == "P1", pilot=pilot)
        # Re-ordered when the operator pauses (see TicketTable.resort), cursor kept.
        await wait_for(lambda: table.get_row_index(str(target["id"]))
                       < order.index(target["id"]), pilot=pilot)
        assert table.selected_id == watched
        assert table.row_count == len(order)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_reconnects_after_a_server_restart_and_catches_up(db_url: str) -> None:
    port = _free_port()
    srv = await start_server(db_url, port)
    url = base_url(srv)
    helper = ApiClient(url)
    body = await helper.login("operator", "pantau-demo")
    config.save_token(config.StoredToken(url, body["token"], "", "operator"))
    app = PantauApp(url, language="en")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await queue_ready(app, pilot)
            ticket = next(tk for tk in app.store.open_tickets() if tk["priority"] >= 2)
            await srv.close()
            await wait_for(lambda: app.stream_status.state == StreamState.RETRYING, pilot=pilot)
            bar = app.screen.query_one(StatusBar)
            assert "retrying" in str(bar.render())
            # A key pressed while the server is away does nothing but say so.
            app.screen.query_one(TicketTable).move_cursor(
                row=app.screen.query_one(TicketTable).get_row_index(str(ticket["id"])))
            await pilot.press("1")
            await pilot.pause(0.5)
            # Meanwhile someone else changes the ticket through another server process.
            other = await start_server(db_url)
            other_client = ApiClient(base_url(other))
            await other_client.login("supervisor", "pantau-demo")
            await other_client.ticket_action(ticket["id"], "notes", {"body": "while away"})
            changed = await other_client.ticket(ticket["id"])
            await other_client.close()
            await other.close()
            srv = await start_server(db_url, port)
            await wait_for(lambda: app.stream_status.state == StreamState.LIVE, pilot=pilot,
                           timeout=20)
            await wait_for(lambda: app.store.get(ticket["id"])["version"] == changed["version"],
                           pilot=pilot)
            assert "live" in str(app.screen.query_one(StatusBar).render())
        after = await helper.ticket(ticket["id"])
        assert after["priority"] == ticket["priority"], "a key pressed while down was applied"
    finally:
        await helper.close()
        await srv.close()


async def test_only_a_supervisor_may_change_a_wall_monitor_layout(api: Any) -> None:
    operator_token = await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await pilot.press("f5")
        await wait_for(lambda: isinstance(app.screen, CamerasScreen), pilot=pilot)
        assert app.screen.check_action("layout", ()) is None
        await pilot.press("L")
        await pilot.pause(0.5)
        assert not isinstance(app.screen, PickerModal)
    # ...and the server agrees, whatever a modified console might send.
    status, monitors = await api.get("/api/monitors", token=operator_token)
    code = monitors[0]["code"]
    status, _ = await api.request("PATCH", f"/api/monitors/{code}", json={"layout": "3x3"},
                                  token=operator_token)
    assert status == 403

    supervisor_token = await signed_in(api, "supervisor")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await pilot.press("f5")
        await wait_for(lambda: isinstance(app.screen, CamerasScreen), pilot=pilot)
        await pilot.press("L")
        await wait_for(lambda: isinstance(app.screen, PickerModal), pilot=pilot)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ConfirmModal), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: isinstance(app.screen, CamerasScreen), pilot=pilot)

        async def layout() -> str:
            _, body = await api.get(f"/api/monitors/{code}", token=supervisor_token)
            return str(body["layout"])

        first = monitors[0]["layout"]
        for _ in range(100):
            if await layout() != first:
                break
            await pilot.pause(0.05)
        assert await layout() != first


async def test_an_alarm_from_a_device_shows_everywhere_and_a_acknowledges_it(api: Any) -> None:
    supervisor = await api.login("supervisor")
    status, enrolled = await api.post("/api/devices", {
        "code": "console-test-1", "owner_name": "Ibu Sari", "owner_kind": "citizen",
        "address": "Jl. Braga No. 10", "district": "sumur-bandung",
        "lat": -6.9175, "lon": 107.6093, "contacts": []}, token=supervisor)
    assert status == 201, enrolled
    await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        banner = app.screen.query_one(AlarmBanner)
        assert not banner.display
        press = await DeviceClient(api.base, "console-test-1", enrolled["secret"],
                                   api.session).press()
        alarm_id = press.alarm_id
        await wait_for(lambda: banner.display, pilot=pilot)
        assert "Jl. Braga" in str(banner.render()) and bells
        await pilot.press("f4")
        await wait_for(lambda: isinstance(app.screen, AlarmsScreen), pilot=pilot)
        assert app.screen.query_one(AlarmBanner).display  # on every screen
        await wait_for(lambda: app.screen.selected_id() == alarm_id, pilot=pilot)
        await pilot.press("a")
        await wait_for(lambda: not app.screen.query_one(AlarmBanner).display, pilot=pilot)
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, PickerModal) or
                       type(app.screen).__name__ == "PromptModal", pilot=pilot)
        await pilot.press(*"Polsek Sumur Bandung", "enter", *"unit on the way", "enter")
        await wait_for(lambda: app.alarms[alarm_id]["status"] == "dispatched", pilot=pilot)
    status, alarm = await api.get(f"/api/alarms/{alarm_id}", token=supervisor)
    assert alarm["status"] == "dispatched" and alarm["acknowledged_by"]
    assert alarm["dispatch_unit"] == "Polsek Sumur Bandung"



async def test_shift_commands_are_for_supervisors_and_are_confirmed(api: Any) -> None:
    operator_token = await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await pilot.press("S")
        await wait_for(lambda: isinstance(app.screen, ShiftScreen)
                       and app.screen.shift is not None, pilot=pilot)
        shift = app.screen.shift
        assert shift["id"] is not None and shift["status"] == "planned", shift
        assert app.screen.check_action("open_shift", ()) is None
        await pilot.press("O")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ShiftScreen)  # no confirmation: nothing to confirm
        await pilot.press("colon", *"shift: open")
        await pilot.pause(0.3)
        palette_text = " ".join(str(w.render()) for w in app.screen.query("Option, Static"))
        assert "shift: open" not in palette_text
    status, _ = await api.post(f"/api/shifts/{shift['id']}/open", {}, token=operator_token)
    assert status == 403

    supervisor_token = await signed_in(api, "supervisor")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await pilot.press("S")
        await wait_for(lambda: isinstance(app.screen, ShiftScreen)
                       and app.screen.shift is not None, pilot=pilot)
        await pilot.press("O")
        await wait_for(lambda: isinstance(app.screen, ConfirmModal), pilot=pilot)
        await pilot.press("n")  # changed my mind: nothing happens
        await pilot.pause(0.3)
        _, now = await api.get(f"/api/shifts/{shift['id']}", token=supervisor_token)
        assert now["status"] == "planned"
        await pilot.press("O")
        await wait_for(lambda: isinstance(app.screen, ConfirmModal), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: isinstance(app.screen, ShiftScreen) and
                       (app.screen.shift or {}).get("status") == "open", pilot=pilot)
        await pilot.press("C", *"jalan Dago banjir, pantau terus", "enter")
        await wait_for(lambda: isinstance(app.screen, ConfirmModal), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: (isinstance(app.screen, ShiftScreen) and
                       (app.screen.shift or {}).get("id") != shift["id"]) or
                       (app.screen.shift or {}).get("status") == "closed", pilot=pilot)
    _, after = await api.get(f"/api/shifts/{shift['id']}", token=supervisor_token)
    assert after["status"] == "closed" and after["closed_by"]
