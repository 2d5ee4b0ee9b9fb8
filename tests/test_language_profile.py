"""A person's language lives on the server (GET/PATCH /api/me), a wall's on its monitor;
the console reads it on every start and its palette changes it on the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import Api, next_event
from tests.test_console_app import queue_ready, signed_in
from tests.test_console_support import wait_for
from tui import i18n
from tui.app import PantauApp
from tui.screens.queue import QueueScreen

SIZE = (100, 30)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(home))
    return home


async def test_me_tells_and_changes_the_language(api: Api, db_url: str) -> None:
    token = await api.login("operator")
    status, me = await api.get("/api/me", token=token)
    assert status == 200 and me["language"] == "id"
    ws = await api.ws(token=await api.login("supervisor"))
    await ws.receive_json()
    status, me = await api.request("PATCH", "/api/me", json={"language": "en"}, token=token)
    assert status == 200 and me["language"] == "en"
    event = await next_event(ws, "person.language_changed")
    assert event["payload"] == {"username": "operator", "language": "en"}
    assert event["actor"] == "person:operator"
    await ws.close()
    _, me = await api.get("/api/me", token=token)
    assert me["language"] == "en"
    # The next sign-in carries it too.
    status, body = await api.request("POST", "/api/auth/login",
                                     json={"username": "operator", "password": "pantau-demo"})
    assert body["person"]["language"] == "en"
    # Setting the same language again is no change: no second event.
    status, _ = await api.request("PATCH", "/api/me", json={"language": "en"}, token=token)
    assert status == 200
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM events"
                                   " WHERE kind = 'person.language_changed'") == 1
    finally:
        await conn.close()


@pytest.mark.parametrize("body", [
    {"language": "fr"}, {"language": ""}, {"language": None}, {"language": ["en"]},
    {"language": {"en": 1}}, {"language": "en\x00"}, {}, {"language": "en", "roles": ["admin"]},
    {"language": "en", "username": "admin"},
])
async def test_me_refuses_anything_but_a_language(api: Api, body: dict[str, Any]) -> None:
    token = await api.login("operator")
    status, answer = await api.request("PATCH", "/api/me", json=body, token=token)
    assert status == 400, answer
    assert answer["error"] == "bad_request" and answer["fields"]
    _, me = await api.get("/api/me", token=token)
    assert me["language"] == "id"


async def test_me_patch_needs_a_person(api: Api) -> None:
    status, _ = await api.request("PATCH", "/api/me", json={"language": "en"})
    assert status == 401
    async with api.session.patch(f"{api.base}/api/me", data="not json",
                                 headers={"Authorization": f"Bearer {await api.login('operator')}",
                                          "Content-Type": "application/json"}) as resp:
        assert resp.status == 400


async def test_a_monitor_has_a_language_supervisors_set(api: Api) -> None:
    sup = await api.login("supervisor")
    _, monitor = await api.get("/api/monitors/main", token=sup)
    assert monitor["language"] == "id"
    status, monitor = await api.request("PATCH", "/api/monitors/main",
                                        json={"language": "en"}, token=sup)
    assert status == 200 and monitor["language"] == "en"
    for bad in ("fr", None, 1, ["en"]):
        status, answer = await api.request("PATCH", "/api/monitors/main",
                                           json={"language": bad}, token=sup)
        assert status == 400 and answer["fields"] == {"language": "invalid"}
    status, _ = await api.request("PATCH", "/api/monitors/main", json={"language": "id"},
                                  token=await api.login("operator"))
    assert status == 403


async def test_console_takes_the_language_from_the_server_on_every_start(api: Api) -> None:
    await signed_in(api, "operator")  # a saved sign-in: the start reads /api/me
    app = PantauApp(api.base)
    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        assert i18n.language() == "id" and app.screen.title == "Antrean"
        await pilot.press("colon", *"English")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, QueueScreen)
                       and app.screen.title == "Queue", pilot=pilot)
    _, me = await api.get("/api/me", token=await api.login("operator"))
    assert me["language"] == "en"
    # Restarted: English from the first queue frame, read from the server.
    i18n.set_language("id")
    app = PantauApp(api.base)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, QueueScreen), pilot=pilot)
        assert app.screen.title == "Queue"
    # --lang / PANTAU_LANG still wins for one run, and changes nothing on the server.
    app = PantauApp(api.base, language="id")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, QueueScreen), pilot=pilot)
        assert app.screen.title == "Antrean"
    _, me = await api.get("/api/me", token=await api.login("operator"))
    assert me["language"] == "en"
