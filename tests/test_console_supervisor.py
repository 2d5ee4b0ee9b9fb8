"""Supervisor commands in the console palette: approve a wall's pairing code, read a
report's summary; an operator is not offered them and the server refuses them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_console_app import SIZE, queue_ready, signed_in
from tests.test_console_support import wait_for
from tui.app import PantauApp
from tui.screens.modals import ConfirmModal, PickerModal
from tui.supervisor import ReportModal


@pytest.fixture(autouse=True)
def config_home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(tmp_path / "config"))


async def test_supervisor_approves_a_waiting_wall_from_the_palette(api: Any) -> None:
    status, pairing = await api.post("/api/wall/pairings", {})
    assert status in (200, 201), pairing
    code = pairing["code"]
    await signed_in(api, "supervisor")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await pilot.press("colon", *"wall: approve")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, PickerModal), pilot=pilot)
        await pilot.press(*code, "enter")
        await wait_for(lambda: isinstance(app.screen, PickerModal)
                       and app.screen.title_text.startswith(f"wall {code}"), pilot=pilot)
        await pilot.press(*"pusat", "enter")
        await wait_for(lambda: isinstance(app.screen, ConfirmModal), pilot=pilot)
        await pilot.press("y")
        token = await api.login("supervisor")

        async def state() -> str:
            _, walls = await api.get("/api/wall/pairings", token=token)
            return next(w["state"] for w in walls if w["code"] == code)

        for _ in range(100):
            if await state() == "approved":
                break
            await pilot.pause(0.1)
        assert await state() == "approved"
        _, walls = await api.get("/api/wall/pairings", token=token)
        assert next(w for w in walls if w["code"] == code)["monitor"] == "pusat-kota"


async def test_supervisor_reads_the_weekly_report_summary(api: Any) -> None:
    await signed_in(api, "supervisor")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await pilot.press("colon", *"report: weekly")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ReportModal), pilot=pilot, timeout=20)
        assert "W" in app.screen.title_text or "weekly" in app.screen.title_text
        assert len(app.screen.body) > 50
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, ReportModal), pilot=pilot)


async def test_an_operator_is_not_offered_supervisor_commands(api: Any) -> None:
    await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await pilot.press("colon", *"wall: approve")
        await pilot.pause(0.5)
        text = " ".join(str(w.render()) for w in app.screen.query("Option, Static"))
        assert "wall: approve" not in text
    token = await api.login("operator")
    assert (await api.get("/api/wall/pairings", token=token))[0] == 403
    assert (await api.get("/api/reports/weekly?format=text", token=token))[0] == 403


async def test_an_understaffed_open_shift_is_shown_on_every_console_until_fixed(
        api: Any) -> None:
    from tests.test_shifts_api import _current_shift
    from tui.widgets.chrome import StatusBar

    spv = await api.login("supervisor")
    shift_id = await _current_shift(api, spv)
    await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        bar = app.screen.query_one(StatusBar)
        assert "UNDERSTAFFED" not in str(bar.render())
        status, body = await api.post(f"/api/shifts/{shift_id}/open", {}, token=spv)
        assert status == 200, body
        await wait_for(lambda: "UNDERSTAFFED" in str(app.screen.query_one(StatusBar).render()),
                       pilot=pilot)
        assert "supervisor -1" in app.staffing_warning
        await pilot.press("f4")  # another screen: still there
        await wait_for(lambda: "UNDERSTAFFED" in str(app.screen.query_one(StatusBar).render()),
                       pilot=pilot)
        status, _ = await api.post(f"/api/shifts/{shift_id}/close", {"notes": "ok"}, token=spv)
        assert status == 200
        await wait_for(lambda: "UNDERSTAFFED" not in str(
            app.screen.query_one(StatusBar).render()), pilot=pilot)


async def test_supervisor_assigns_someone_from_the_palette(api: Any) -> None:
    from tests.test_shifts_api import _current_shift

    admin = await api.login("admin")
    status, _ = await api.post("/api/people", {
        "username": "baru.ahli", "full_name": "Ahli Baru", "password": "kopi-susu-merah-7",
        "roles": ["expert"]}, token=admin)
    assert status == 201
    spv = await api.login("supervisor")
    shift_id = await _current_shift(api, spv)
    await signed_in(api, "supervisor")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await pilot.press("colon", *"shift: assign")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(lambda: type(app.screen).__name__ == "PromptModal", pilot=pilot)
        await pilot.press(*"baru.ahli", "enter", *"expert", "enter")
        await wait_for(lambda: isinstance(app.screen, ConfirmModal), pilot=pilot)
        await pilot.press("y")

        async def rostered() -> bool:
            _, view = await api.get(f"/api/shifts/{shift_id}", token=spv)
            return any(r["username"] == "baru.ahli" for r in view.get("roster", []))

        for _ in range(100):
            if await rostered():
                break
            await pilot.pause(0.1)
        assert await rostered()
