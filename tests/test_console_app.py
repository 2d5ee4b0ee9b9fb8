"""The console driven with Pilot against the real server and Postgres."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.keys import _character_to_key

from tests.test_console_support import wait_for
from tui import config
from tui.app import PantauApp
from tui.client import StreamState
from tui.screens.login import LoginScreen
from tui.screens.modals import PickerModal
from tui.screens.queue import QueueScreen
from tui.widgets.ticket_table import TicketTable

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(home))
    return home


async def signed_in(api: Any, username: str) -> str:
    """Log in through the API and leave the token where the console looks for it."""
    token = await api.login(username)
    config.save_token(config.StoredToken(api.base, token, "", username))
    return token


async def queue_ready(app: PantauApp, pilot: Any) -> TicketTable:
    await wait_for(lambda: isinstance(app.screen, QueueScreen) and app.store.loaded
                   and app.stream_status.state == StreamState.LIVE, pilot=pilot)
    table = app.screen.query_one(TicketTable)
    await wait_for(lambda: table.row_count > 0, pilot=pilot)
    return table


def count_label(app: PantauApp) -> str:
    return str(app.screen.query_one("#queue-count").render())


async def test_login_screen_then_live_queue(api: Any, config_home: Path) -> None:
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"operator", "enter", *"wrong", "enter")
        await wait_for(lambda: "failed" in str(app.screen.query_one("#login-error").render()),
                       pilot=pilot)
        await pilot.press(*"pantau-demo", "enter")
        table = await queue_ready(app, pilot)
        status, body = await api.get("/api/tickets", params={"limit": "1"},
                                     token=await api.login("operator"))
        assert status == 200
        total = body["total"]
        assert table.row_count == total
        assert count_label(app) == f"{total} of {total}"
    assert (config_home / "token.json").stat().st_mode & 0o777 == 0o600
    assert config.load_token(api.base) is not None


async def test_triage_and_route_a_new_complaint_in_four_keys(api: Any) -> None:
    token = await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        table = await queue_ready(app, pilot)
        status, created = await api.post("/api/tickets", {
            "channel": "walk_in", "category": "drainase", "district": "coblong",
            "address": "Jl. Dipatiukur 35", "description": "Selokan mampet, air meluap ke jalan",
        }, token=token)
        assert status == 201, created
        assert created["suggested_department"], created
        ticket_id = created["id"]
        # In the queue and in its place (re-sorted when keys pause), as the operator sees it.
        await wait_for(lambda: str(ticket_id) in {str(k.value) for k in table.rows}
                       and not table.unsorted, pilot=pilot)
        # Start on the row above the new complaint (or on it when it is the first row).
        index = table.get_row_index(str(ticket_id))
        table.move_cursor(row=max(index - 1, 0))
        keys = (["down"] if index > 0 else []) + ["t", "r", "enter"]
        assert len(keys) <= 4
        await pilot.press(*keys[:-1])
        await wait_for(lambda: isinstance(app.screen, PickerModal), pilot=pilot)
        await pilot.press(keys[-1])
        await wait_for(lambda: (app.store.get(ticket_id) or {}).get("status") == "routed",
                       pilot=pilot)
    status, after = await api.get(f"/api/tickets/{ticket_id}", token=token)
    assert after["status"] == "routed"
    assert after["department"]["code"] == created["suggested_department"]["code"]
    status, history = await api.get(f"/api/tickets/{ticket_id}/history", token=token)
    kinds = [e["kind"] for e in history["events"]]
    assert kinds[-2:] == ["ticket.triaged", "ticket.routed"]


async def test_sign_in_typed_in_one_burst(api: Any, config_home: Path) -> None:
    """Over SSH a username, enter and the password arrive in one burst: the password
    must land in the password box, not be appended to the username."""
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot=pilot)
        for key in [*"operator", "enter", *"pantau-demo", "enter"]:
            # as the terminal driver hands them over, without waiting in between
            character = key if len(key) == 1 else None
            name = key if len(key) > 1 else _character_to_key(key)
            app.post_message(events.Key(name, character))
        await queue_ready(app, pilot)
