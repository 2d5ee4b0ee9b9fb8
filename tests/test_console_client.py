"""The console's API and event-stream client against the real server."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.test_console_support import base_url, start_server, wait_for
from tui import config
from tui.client import ApiClient, ApiError, EventStream, ServerUnreachable, StreamState


def test_token_file_is_private_and_per_server(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(tmp_path / "pantau"))
    old = os.umask(0o022)
    try:
        path = config.save_token(config.StoredToken("http://a", "secret", "", "operator"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert config.load_token("http://a") == config.StoredToken("http://a", "secret", "",
                                                               "operator")
    assert config.load_token("http://b") is None
    config.clear_token()
    assert config.load_token("http://a") is None


def test_keymap_file_maps_binding_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(tmp_path))
    (tmp_path / "keymap.toml").write_text('[keys]\n"ticket.route" = "ctrl+r"\n')
    assert config.load_keymap() == {"ticket.route": "ctrl+r"}
    (tmp_path / "keymap.toml").write_text("not toml [")
    assert config.load_keymap() == {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_server_is_one_clear_error() -> None:
    client = ApiClient(f"http://127.0.0.1:{_free_port()}")
    try:
        with pytest.raises(ServerUnreachable):
            await client.get("/api/me")
    finally:
        await client.close()


async def test_login_and_error_shapes(api: Any) -> None:
    client = ApiClient(api.base)
    try:
        with pytest.raises(ApiError) as bad:
            await client.login("operator", "wrong")
        assert bad.value.status == 401
        body = await client.login("operator", "pantau-demo")
        assert "call_center" in body["person"]["roles"]
        assert (await client.me())["roles"] == ["call_center"]
    finally:
        await client.close()


async def test_stream_retries_while_down_and_resumes_from_last_id(db_url: str) -> None:
    """Stop the server, change things meanwhile, start it on the same port: nothing lost."""
    port = _free_port()
    srv = await start_server(db_url, port)
    client = ApiClient(base_url(srv))
    seen: list[dict[str, Any]] = []
    states: list[StreamState] = []
    await client.login("supervisor", "pantau-demo")
    stream = EventStream(client, seen.append, lambda s: states.append(s.state),
                         min_backoff=0.05, max_backoff=0.2)
    task = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(stream.connected_once.wait(), 10)
        await srv.close()
        await wait_for(lambda: states[-1] == StreamState.RETRYING)
        # A change made while the console cannot hear: it must arrive after the restart.
        other = await start_server(db_url)
        other_client = ApiClient(base_url(other))
        await other_client.login("supervisor", "pantau-demo")
        ticket = await other_client.post("/api/tickets", {
            "channel": "walk_in", "category": "sampah", "district": "andir",
            "description": "Sampah menumpuk"})
        await other_client.ticket_action(ticket["id"], "triage",
                                         {"version": ticket["version"], "priority": 2})
        await other_client.close()
        await other.close()
        srv = await start_server(db_url, port)
        await wait_for(lambda: any(f["kind"] == "ticket.triaged"
                                   and f["subject"]["id"] == str(ticket["id"]) for f in seen))
        assert states[-1] == StreamState.LIVE
        ids = [f["id"] for f in seen]
        assert ids == sorted(set(ids)), "events repeated or out of order"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
        await srv.close()
