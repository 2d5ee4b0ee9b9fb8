"""Attacks on the browser-facing surface, against the real server: the session
cookie outside the routes that need it, cross-site writes made with it, bodies
that only pretend to be JSON, booleans that are not booleans, and the security
headers every response must carry. (The same attacks from a real browser are in
tests/test_security_browser.py.)"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from server.auth import issue_wall_token
from server.keys import pool_key
from tests.conftest import Api, base_of, start_app

PUBLIC_URL = "https://pantau.example.org"


async def routed_ticket(api: Api) -> tuple[Api, dict[str, Any]]:
    """An operator and a ticket routed to DSDABM (whose staff is `dsdabm.staff`)."""
    op = api.as_user(await api.login("operator"))
    _, t = await op.post("/api/tickets", {"channel": "walk_in", "category": "jalan-rusak",
                                          "description": "Lubang di Jl. Riau",
                                          "address": "Jl. Riau"})
    status, t = await op.post(f"/api/tickets/{t['id']}/route", {"version": t["version"]})
    assert status == 200, t
    return op, t


async def raw(api: Api, method: str, path: str, **kw: Any) -> tuple[int, str, Any]:
    """One request without the test client's conveniences: (status, body, headers)."""
    async with api.session.request(method, api.base + path, allow_redirects=False,
                                   **kw) as resp:
        return resp.status, await resp.text(), resp.headers


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"pantau_token={token}"}


async def test_the_cookie_is_no_credential_on_the_api(api: Api) -> None:
    """A department user's browser holds the cookie; another page making that
    browser call the API gets nothing: the API takes bearer tokens only."""
    op, t = await routed_ticket(api)
    staff = await api.login("dsdabm.staff")
    same = {"Origin": api.base}
    for method, path, body in (
            ("GET", "/api/me", None), ("GET", f"/api/tickets/{t['id']}", None),
            ("GET", "/api/tickets", None),
            ("POST", f"/api/tickets/{t['id']}/notes", {"body": "lewat cookie"}),
            ("POST", f"/api/tickets/{t['id']}/acknowledge", {"version": t["version"]}),
            ("POST", "/api/auth/logout", None)):
        status, text, _ = await raw(api, method, path, json=body,
                                    headers={**cookie(staff), **same})
        assert status == 401, (method, path, status, text)
    _, now = await op.get(f"/api/tickets/{t['id']}")
    assert now["notes"] == [] and now["status"] == "routed"
    # The same token as a bearer works: it was the carrier that was refused.
    status, _ = await api.post(f"/api/tickets/{t['id']}/notes", {"body": "ok"}, token=staff)
    assert status == 201


async def test_cookie_writes_need_this_origin(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    op, t = await routed_ticket(api)
    staff = await api.login("dsdabm.staff")
    note = f"/dept/tickets/{t['id']}/note"
    refused = [
        {},                                                   # no Origin at all
        {"Origin": "http://127.0.0.1:1"},                     # another port, same site
        {"Origin": api.base.replace("127.0.0.1", "localhost")},
        {"Origin": "null"},                                   # sandboxed frame
        {"Origin": api.base + "/dept"},                       # not an origin
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"},
        {"Origin": PUBLIC_URL},                               # not configured here
    ]
    for headers in refused:
        status, text, _ = await raw(api, "POST", note, data={"body": "csrf"},
                                    headers={**cookie(staff), **headers})
        assert status == 403 and json.loads(text)["error"] == "cross_site", headers
    assert "cross-site request refused" in caplog.text
    _, now = await op.get(f"/api/tickets/{t['id']}")
    assert now["notes"] == []
    # The page itself: its Origin, or (a browser without Origin) Sec-Fetch-Site.
    for i, headers in enumerate(({"Origin": api.base}, {"Sec-Fetch-Site": "same-origin"})):
        status, _, h = await raw(api, "POST", note, data={"body": f"dari halaman {i}"},
                                 headers={**cookie(staff), **headers})
        assert status == 303 and h["Location"] == "/dept?m=done"
    _, now = await op.get(f"/api/tickets/{t['id']}")
    assert [n["body"] for n in now["notes"]] == ["dari halaman 0", "dari halaman 1"]
    # Reading the page with the cookie needs no Origin (a link, a bookmark).
    status, html, _ = await raw(api, "GET", "/dept", headers=cookie(staff))
    assert status == 200 and t["reference"] in html
    # Signing in from another site (to sign the victim into the attacker's account).
    status, _, h = await raw(api, "POST", "/dept/login",
                             data={"username": "dsdabm.staff", "password": "pantau-demo"},
                             headers={"Origin": "http://127.0.0.1:1"})
    assert status == 303 and h["Location"] == "/dept?m=forbidden" and "Set-Cookie" not in h


async def test_cookie_streams_need_this_origin(api: Api, server: TestServer) -> None:
    """Cross-site WebSocket hijacking: a handshake carries the cookie and no CORS
    protects it, so a cookie-authenticated one must come from this origin."""
    staff = await api.login("dsdabm.staff")
    wall, _ = await issue_wall_token(server.app[pool_key], 1, timedelta(hours=1))
    url = api.base.replace("http", "ws") + "/api/events"
    for token in (staff, wall):
        for origin in ("http://127.0.0.1:1", None):
            headers = cookie(token) | ({"Origin": origin} if origin else {})
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await api.session.ws_connect(url, headers=headers)
            assert refused.value.status == 403
        ws = await api.session.ws_connect(url, headers=cookie(token) | {"Origin": api.base})
        assert (await ws.receive_json())["type"] == "hello"
        await ws.close()
    # The wall's own reads work with the cookie alone; its writes need the origin.
    status, _, _ = await raw(api, "GET", "/api/wall/me", headers=cookie(wall))
    assert status == 200
    status, text, _ = await raw(api, "DELETE", "/whep/sessions/nope",
                                headers=cookie(wall) | {"Origin": "http://127.0.0.1:1"})
    assert status == 403 and json.loads(text)["error"] == "cross_site"


async def test_json_bodies_must_say_they_are_json(api: Api) -> None:
    op, t = await routed_ticket(api)
    body = json.dumps({"body": "catatan"})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                  "application/jsonp", None):
        headers = {"Authorization": f"Bearer {op.token}"}
        if ctype:
            headers["Content-Type"] = ctype
        status, text, _ = await raw(api, "POST", f"/api/tickets/{t['id']}/notes",
                                    data=body.encode(), headers=headers)
        assert status == 415, (ctype, status)
        err = json.loads(text)
        assert err["error"] == "unsupported_media_type" and "application/json" in err["message"]
    status, _, _ = await raw(api, "POST", f"/api/tickets/{t['id']}/notes", data=body.encode(),
                             headers={"Authorization": f"Bearer {op.token}",
                                      "Content-Type": "Application/JSON; charset=utf-8"})
    assert status == 201
    # No body at all is no JSON body: an action without fields still works.
    status, text, _ = await raw(api, "POST", "/api/auth/logout",
                                headers={"Authorization": f"Bearer {op.token}"})
    assert status == 200, text


async def test_booleans_are_booleans(api: Api) -> None:
    op = api.as_user(await api.login("supervisor"))
    base = {"channel": "walk_in", "category": "sampah", "description": "Sampah menumpuk",
            "address": "Jl. Dago 1", "reporter": {"name": "Siti", "phone": "0812345678"}}
    for bad in ("no", "false", 0, 1, "", [], {}):
        status, body = await op.post("/api/tickets", {**base, "anonymous": bad})
        assert status == 400 and body["fields"] == {"anonymous": "must be true or false"}, bad
    status, body = await op.post("/api/tickets", {**base, "anonymous": True})
    assert status == 201 and body["anonymous"] is True and body["reporter"] is None
    status, body = await op.post("/api/tickets", {**base, "anonymous": False})
    assert status == 201 and body["anonymous"] is False and body["reporter"]["name"] == "Siti"
    status, body = await op.request("PATCH", "/api/monitors/main", json={"show_alarms": "yes"})
    assert status == 400 and body["fields"] == {"show_alarms": "must be true or false"}


HTML_PAGES = ["/lapor", "/lapor?lang=en", "/lapor/status/BDG-0000-00000", "/dept",
              "/wall/main"]


def assert_security_headers(path: str, status: int, headers: Any) -> None:
    where = f"{path} ({status})"
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert headers.get("X-Frame-Options") == "DENY", where
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert "Strict-Transport-Security" not in headers, where  # plain http here
    assert headers.get("Server") == "Pantau", where


def assert_no_inline_code(path: str, html: str, csp: str) -> None:
    """Scripts only from files; styles from files or (reports) hashed in the CSP."""
    assert "script-src 'self'" in csp and "style-src 'self'" in csp, path
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I), path
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), path  # onclick=...
    assert not re.search(r"<[^>]+\sstyle\s*=", html, re.I), path
    assert "javascript:" not in html.lower(), path
    for block in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S | re.I):
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp, path


async def test_every_response_carries_the_security_headers(api: Api) -> None:
    supervisor = await api.login("supervisor")
    auth = {"Authorization": f"Bearer {supervisor}"}
    pages = [*HTML_PAGES, "/api/reports/weekly?format=html"]
    for path in pages:
        status, html, headers = await raw(api, "GET", path, headers=auth)
        assert headers["Content-Type"].startswith("text/html"), path
        assert_security_headers(path, status, headers)
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "object-src 'none'" in csp, path
        assert_no_inline_code(path, html, csp)
    for method, path, kw in (
            ("GET", "/healthz", {}), ("GET", "/api/me", {}), ("GET", "/api/nope", {}),
            ("GET", "/static/wall.js", {}), ("GET", "/static/pages.css", {}),
            ("GET", "/static/nope.js", {}), ("GET", "/static/../app.py", {}),
            ("GET", "/open311/v2/services.xml", {}), ("POST", "/api/auth/login",
                                                       {"data": b"x"}),
            ("DELETE", "/healthz", {}), ("GET", "/api/reports/weekly?format=csv&table=trend",
                                         {"headers": auth})):
        status, body, headers = await raw(api, method, path, **kw)
        assert_security_headers(path, status, headers)
        assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        if path.startswith("/static/") and status == 200:
            assert headers["Cache-Control"] == "no-cache" and "ETag" in headers
        if path == "/static/../app.py":
            assert status == 404 and "create_app" not in body
    async with api.session.ws_connect(api.base.replace("http", "ws") + "/api/events",
                                      headers=auth) as ws:
        assert (await ws.receive_json())["type"] == "hello"
    # A request the HTTP parser refuses is answered without a version banner too.
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", int(api.base.rsplit(":", 1)[1]))
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
    answer = (await reader.read(4096)).decode(errors="replace")
    writer.close()
    assert "aiohttp" not in answer and "Python" not in answer, answer


@pytest.fixture
async def https_api(db_url: str) -> AsyncIterator[Api]:
    """The server as deployed behind a TLS proxy at PUBLIC_URL."""

    def behind_proxy(app: Any) -> None:
        from server.keys import settings_key
        app[settings_key].public_url = PUBLIC_URL

    srv = await start_app(db_url, prepare=behind_proxy)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield Api(base_of(srv), session)
    await srv.close()


async def test_behind_https_cookies_are_secure_and_hsts_is_sent(https_api: Api) -> None:
    api = https_api
    status, _, headers = await raw(api, "GET", "/healthz")
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    status, _, headers = await raw(api, "POST", "/dept/login", headers={"Origin": PUBLIC_URL},
                                   data={"username": "dsdabm.staff", "password": "pantau-demo"})
    assert status == 303 and headers["Location"] == "/dept"
    set_cookie = headers["Set-Cookie"].lower()
    assert "secure" in set_cookie and "httponly" in set_cookie and "samesite=strict" in set_cookie
    token = re.search(r"pantau_token=([^;]+)", headers["Set-Cookie"]).group(1)  # type: ignore[union-attr]
    op, t = await routed_ticket(api)
    # The public origin is this server's origin even though the proxy speaks http to it.
    status, _, headers = await raw(api, "POST", f"/dept/tickets/{t['id']}/note",
                                   data={"body": "lewat proxy"},
                                   headers={**cookie(token), "Origin": PUBLIC_URL})
    assert status == 303 and headers["Location"] == "/dept?m=done"
    status, _, _ = await raw(api, "POST", f"/dept/tickets/{t['id']}/note",
                             data={"body": "bukan"},
                             headers={**cookie(token), "Origin": "https://evil.example.org"})
    assert status == 403
    _, now = await op.get(f"/api/tickets/{t['id']}")
    assert [n["body"] for n in now["notes"]] == ["lewat proxy"]


def test_a_malformed_public_url_stops_the_server() -> None:
    from server.settings import public_origin

    assert public_origin("https://Pantau.Example.org/") == "https://pantau.example.org"
    assert public_origin("http://10.0.0.5:8080") == "http://10.0.0.5:8080"
    assert public_origin("") == ""
    for bad in ("pantau.example.org", "ftp://x", "https://", "https://u:p@x", "https://x/?a=1"):
        with pytest.raises(SystemExit, match="PANTAU_PUBLIC_URL"):
            public_origin(bad)


async def test_forwarded_proto_and_host_count_only_from_a_trusted_proxy(
        api: Api, db_url: str) -> None:
    """Behind a proxy without PANTAU_PUBLIC_URL: its X-Forwarded-Proto/Host are
    believed when it is in PANTAU_TRUSTED_PROXIES, and from nobody else."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pantau.example.org"}
    staff = await api.login("dsdabm.staff")
    _, t = await routed_ticket(api)
    note = f"/dept/tickets/{t['id']}/note"
    # Not a trusted proxy (the default: none): the headers are the client's own.
    status, _, headers = await raw(api, "GET", "/healthz", headers=forwarded)
    assert "Strict-Transport-Security" not in headers
    status, _, _ = await raw(api, "POST", note, data={"body": "x"},
                             headers={**cookie(staff), **forwarded, "Origin": PUBLIC_URL})
    assert status == 403

    def trust_loopback(app: Any) -> None:
        from server.keys import settings_key
        app[settings_key].trusted_proxies = (ipaddress.ip_network("127.0.0.0/8"),)

    srv = await start_app(db_url, prepare=trust_loopback)
    try:
        proxied = Api(base_of(srv), api.session)
        status, _, headers = await raw(proxied, "GET", "/healthz", headers=forwarded)
        assert headers["Strict-Transport-Security"] == "max-age=31536000"
        status, _, headers = await raw(proxied, "POST", note, data={"body": "lewat proxy"},
                                       headers={**cookie(staff), **forwarded,
                                                "Origin": PUBLIC_URL})
        assert status == 303 and headers["Location"] == "/dept?m=done"
        status, _, headers = await raw(proxied, "POST", "/dept/login", headers={
            **forwarded, "Origin": PUBLIC_URL},
            data={"username": "dsdabm.staff", "password": "pantau-demo"})
        assert status == 303 and "secure" in headers["Set-Cookie"].lower()
        status, _, _ = await raw(proxied, "POST", note, data={"body": "x"},
                                 headers={**cookie(staff), **forwarded,
                                          "Origin": "https://evil.example.org"})
        assert status == 403
    finally:
        await srv.close()
