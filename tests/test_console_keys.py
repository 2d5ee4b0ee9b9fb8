"""Keys: a user keymap remaps by binding id; the palette routes; note, merge and close
are one key each (destructive ones confirmed). All against the real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_console_app import SIZE, queue_ready, signed_in
from tests.test_console_support import wait_for
from tui.app import PantauApp
from tui.screens.modals import ConfirmModal, PickerModal, PromptModal
from tui.widgets.ticket_table import TicketTable


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(home))
    return home


def select(table: TicketTable, ticket_id: int) -> None:
    table.move_cursor(row=table.get_row_index(str(ticket_id)))


async def test_keymap_file_remaps_a_binding_by_id(api: Any, config_home: Path) -> None:
    await signed_in(api, "operator")
    (config_home / "keymap.toml").write_text('[keys]\n"ticket.route" = "ctrl+o"\n')
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await pilot.press("r")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, PickerModal), "the old key still routes"
        await pilot.press("ctrl+o")
        await wait_for(lambda: isinstance(app.screen, PickerModal), pilot=pilot)


async def test_palette_routes_the_selected_ticket_by_department_name(api: Any) -> None:
    token = await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        table = await queue_ready(app, pilot)
        ticket = next(tk for tk in app.store.open_tickets()
                      if (tk["department"] or {}).get("code") != "dishub")
        select(table, ticket["id"])
        await wait_for(lambda: bool(app.reference.get("departments")), pilot=pilot)
        await pilot.press("colon", *"route: to dishub")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(lambda: ((app.store.get(ticket["id"]) or {}).get("department")
                                or {}).get("code") == "dishub", pilot=pilot)
    _, after = await api.get(f"/api/tickets/{ticket['id']}", token=token)
    assert after["department"]["code"] == "dishub" and after["status"] == "routed"


async def test_note_merge_and_close_from_the_keyboard(api: Any) -> None:
    token = await signed_in(api, "operator")
    for what in ("Pohon tumbang di Jl. Dago", "Pohon tumbang lagi di Jl. Dago"):
        status, _ = await api.post("/api/tickets", {
            "channel": "walk_in", "category": "pohon-tumbang", "district": "coblong",
            "description": what}, token=token)
        assert status == 201
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        table = await queue_ready(app, pilot)
        first, second = [tk for tk in app.store.open_tickets() if tk["status"] == "new"][:2]
        # n: a note
        select(table, first["id"])
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, PromptModal), pilot=pilot)
        await pilot.press(*"warga menelepon lagi", "enter")
        await wait_for(lambda: any("note added" in str(n.message) for n in app._notifications),
                       pilot=pilot)
        # m: merge `second` into `first`, picked by typing its reference, then confirmed
        select(table, second["id"])
        await pilot.press("m")
        await wait_for(lambda: isinstance(app.screen, PickerModal), pilot=pilot)
        await pilot.press(*first["reference"], "enter")
        await wait_for(lambda: isinstance(app.screen, ConfirmModal), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: app.store.get(second["id"])["status"] == "merged", pilot=pilot)
        # Merged, it leaves the queue, but only once the cursor moves off it.
        await wait_for(lambda: second["id"] in table.leaving, pilot=pilot)
        assert table.selected_id == second["id"]
        # c on an open ticket: confirmed, then the server refuses (only resolved ones close)
        select(table, first["id"])
        await wait_for(lambda: str(second["id"]) not in
                       {str(k.value) for k in table.rows}, pilot=pilot)
        await pilot.press("c")
        await wait_for(lambda: isinstance(app.screen, ConfirmModal), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: any("resolved" in str(n.message) or "close" in str(n.message)
                                   for n in app._notifications if n.severity == "warning"),
                       pilot=pilot)
    _, merged = await api.get(f"/api/tickets/{second['id']}", token=token)
    assert merged["status"] == "merged" and merged["merged_into"] == first["reference"]
    _, master = await api.get(f"/api/tickets/{first['id']}", token=token)
    assert master["status"] == "new"
    assert any(n["body"] == "warga menelepon lagi" for n in master["notes"])


async def test_a_stale_copy_is_refused_refreshed_and_explained(api: Any) -> None:
    """The server answers 409 on a stale version; the console refreshes and says so,
    and never retries the change on the operator's behalf."""
    token = await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        table = await queue_ready(app, pilot)
        ticket = next(tk for tk in app.store.open_tickets() if tk["priority"] != 1)
        select(table, ticket["id"])
        # A copy out of step with the server (as after a missed event).
        app.store.tickets[ticket["id"]] = {**ticket, "version": ticket["version"] + 5}
        await pilot.press("1")
        await wait_for(lambda: any("changed by someone else" in str(n.message)
                                   for n in app._notifications), pilot=pilot)
        _, now = await api.get(f"/api/tickets/{ticket['id']}", token=token)
        assert now["priority"] == ticket["priority"]
        assert app.store.get(ticket["id"])["version"] == now["version"] == ticket["version"]
