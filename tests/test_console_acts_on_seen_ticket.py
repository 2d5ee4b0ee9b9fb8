"""Keys act on the ticket the operator sees, never on one the queue slid under the cursor.

In a filtered queue, `t` takes the ticket out of the view; it used to vanish and
`r enter` then routed the next ticket, one nobody had looked at. Here the real
console drives the real server, and every ticket is compared through the API
before and after each `t r enter`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_console_app import SIZE, queue_ready, signed_in
from tests.test_console_support import wait_for
from tui.app import PantauApp
from tui.screens.modals import PickerModal
from tui.tickets import code_of
from tui.widgets.ticket_table import LEAVING_MARK, TicketTable

FALLBACK_DEPARTMENT = "dinkes"


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(home))
    return home


async def every_ticket(api: Any, token: str) -> dict[int, tuple[Any, ...]]:
    """Each ticket's (version, status, department) as the server has it, all statuses."""
    status, body = await api.get("/api/tickets", params={"status": "all", "limit": "200"},
                                 token=token)
    assert status == 200, body
    assert body["total"] == len(body["items"])
    return {tk["id"]: (tk["version"], tk["status"], code_of(tk["department"]))
            for tk in body["items"]}


async def file_complaint(api: Any, token: str, description: str) -> dict[str, Any]:
    status, created = await api.post("/api/tickets", {
        "channel": "walk_in", "category": "drainase", "district": "coblong", "priority": 1,
        "address": "Jl. Dipatiukur 35", "description": description}, token=token)
    assert status == 201, created
    assert created["suggested_department"], created
    return dict(created)


def picker_text(app: PantauApp) -> str:
    screen = app.screen
    assert isinstance(screen, PickerModal)
    return f"{screen.title_text} {screen.subject}"


def highlighted(app: PantauApp) -> str | None:
    from textual.widgets import OptionList

    options = app.screen.query_one(OptionList)
    if options.highlighted is None:
        return None
    return options.get_option_at_index(options.highlighted).id


async def t_r_enter_on_the_ticket_under_the_cursor(app: PantauApp, pilot: Any, api: Any,
                                                  token: str) -> None:
    """`t r enter` (or `t r`, a department, `enter` without a suggestion), then proves
    through the API that this ticket, and only it, was triaged and routed."""
    table = app.screen.query_one(TicketTable)
    target = table.selected_id
    assert target is not None
    ticket = app.store.get(target) or {}
    assert ticket["status"] == "new"
    suggested = code_of(ticket.get("suggested_department"))
    place = table.cursor_row
    before = await every_ticket(api, token)

    await pilot.press("t")
    # The triage lands and takes the ticket out of `s:new`: it stays under the
    # cursor, marked, instead of sliding the next ticket under it.
    await wait_for(lambda: (app.store.get(target) or {}).get("status") == "triaged"
                   and target in table.leaving, pilot=pilot)
    await pilot.pause(0.2)
    assert table.selected_id == target
    assert str(table.get_cell(str(target), "prio")) == f"{LEAVING_MARK}{ticket['priority']}"
    assert ticket["reference"] in str(app.screen.query_one("#queue-count").render())

    await pilot.press("r")
    await wait_for(lambda: isinstance(app.screen, PickerModal), pilot=pilot)
    assert ticket["reference"] in picker_text(app)
    if suggested:
        assert highlighted(app) == suggested
        await pilot.press("enter")
        expected = suggested
    else:
        # No suggestion: nothing preselected, and enter alone routes nowhere.
        assert highlighted(app) is None
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, PickerModal)
        await pilot.press(*FALLBACK_DEPARTMENT, "enter")
        expected = FALLBACK_DEPARTMENT
    await wait_for(lambda: (app.store.get(target) or {}).get("status") == "routed"
                   and not table.unsorted, pilot=pilot)
    # Still under the cursor, in the place where the operator acted on it.
    assert table.selected_id == target and table.cursor_row == place

    after = await every_ticket(api, token)
    assert {i for i in after if after[i] != before.get(i)} == {target}
    assert after[target][1:] == ("routed", expected)
    assert after[target][0] == before[target][0] + 2
    _, history = await api.get(f"/api/tickets/{target}/history", token=token)
    assert [e["kind"] for e in history["events"]][-2:] == [
        "ticket.triaged", "ticket.routed"]


async def test_t_r_enter_in_a_filtered_queue_triages_and_routes_one_ticket_each_time(
        api: Any) -> None:
    token = await signed_in(api, "operator")
    for n in range(6):  # five to act on, and one still `s:new` at the end
        await file_complaint(api, token, f"Selokan mampet nomor {n}, air ke jalan")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        table = await queue_ready(app, pilot)
        await wait_for(lambda: bool(app.reference.get("departments")), pilot=pilot)
        await pilot.press("slash", *"s:new", "enter")
        await wait_for(lambda: table.has_focus and table.shown and
                       all(tk["status"] == "new" for tk in table.shown.values()), pilot=pilot)
        assert table.row_count >= 5
        for step in range(5):
            if step:
                await pilot.press("j")  # the operator moves on, on purpose
                await wait_for(lambda: not table.leaving, pilot=pilot)
            await t_r_enter_on_the_ticket_under_the_cursor(app, pilot, api, token)
        # Moving off the last acted-on ticket drops it; what is left is still `s:new`.
        await pilot.press("j")
        await wait_for(lambda: not table.leaving, pilot=pilot)
        assert all(tk["status"] == "new" for tk in table.shown.values())


async def test_route_picker_preselects_the_suggestion_and_enter_takes_it(api: Any) -> None:
    token = await signed_in(api, "operator")
    created = await file_complaint(api, token, "Selokan mampet di depan sekolah")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        table = await queue_ready(app, pilot)
        await wait_for(lambda: bool(app.reference.get("departments"))
                       and created["id"] in table.shown, pilot=pilot)
        table.move_cursor(row=table.get_row_index(str(created["id"])))
        await pilot.press("r")
        await wait_for(lambda: isinstance(app.screen, PickerModal), pilot=pilot)
        assert highlighted(app) == created["suggested_department"]["code"]
        assert created["reference"] in picker_text(app)
        await pilot.press("enter")
        await wait_for(lambda: (app.store.get(created["id"]) or {}).get("status") == "routed",
                       pilot=pilot)
    _, after = await api.get(f"/api/tickets/{created['id']}", token=token)
    assert after["department"]["code"] == created["suggested_department"]["code"]


async def test_route_picker_without_a_suggestion_preselects_nothing(api: Any) -> None:
    """A 112 call with no category has no suggestion: enter alone must not route it
    to whichever department sorts first."""
    token = await signed_in(api, "operator")
    status, filed = await api.post("/api/calls", {
        "caller_number": "081200000001", "location": "Halte Dago",
        "what_happened": "Ada yang pingsan di halte"},
        token=token)
    assert status == 201, filed
    ticket = filed.get("ticket", filed)
    assert ticket["suggested_department"] is None
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        table = await queue_ready(app, pilot)
        await wait_for(lambda: bool(app.reference.get("departments"))
                       and ticket["id"] in table.shown, pilot=pilot)
        table.move_cursor(row=table.get_row_index(str(ticket["id"])))
        await pilot.press("r")
        await wait_for(lambda: isinstance(app.screen, PickerModal), pilot=pilot)
        assert highlighted(app) is None
        assert "no suggestion" in picker_text(app)
        await pilot.press("enter")
        await wait_for(lambda: "Nothing chosen" in
                       str(app.screen.query_one("#picker-hint").render()), pilot=pilot)
        assert isinstance(app.screen, PickerModal)
        _, still = await api.get(f"/api/tickets/{ticket['id']}", token=token)
        assert still["status"] == "new" and still["department"] is None
        assert still["version"] == ticket["version"]
        # down highlights the first entry: a choice the operator made and can see
        await pilot.press("down")
        first = highlighted(app)
        assert first is not None
        await pilot.press("enter")
        await wait_for(lambda: (app.store.get(ticket["id"]) or {}).get("status") == "routed",
                       pilot=pilot)
    _, after = await api.get(f"/api/tickets/{ticket['id']}", token=token)
    assert after["department"]["code"] == first
