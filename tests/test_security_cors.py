"""CORS: which origins may read which answers, and that it weakens no cookie rule.

The browser half (a third-party WHEP player on another origin) is in
tests/test_cors_browser.py; here the headers themselves, as a browser would ask.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from db.settings import SettingsError
from server.settings import Settings
from tests.conftest import Api, base_of, start_app

APP = "https://app.example.org"
EVIL = "https://evil.example"


@pytest.fixture
async def cors_api(db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    monkeypatch.setenv("PANTAU_CORS_ORIGINS", f"{APP}, http://127.0.0.1:9")
    monkeypatch.setenv("PANTAU_CORS_OPEN311_ANY_ORIGIN", "true")
    srv: TestServer = await start_app(db_url)
    async with aiohttp.ClientSession() as session:
        yield Api(base_of(srv), session)
    await srv.close()


async def preflight(api: Api, path: str, origin: str, method: str,
                    headers: str = "authorization,content-type") -> aiohttp.ClientResponse:
    async with api.session.options(api.base + path, headers={
            "Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers}) as resp:
        await resp.read()
        return resp


async def test_whep_preflight_for_an_allowed_origin_only(cors_api: Api) -> None:
    for path, method in (("/whep/cameras/1", "POST"), ("/whep/sessions/x", "DELETE"),
                         ("/whep/sessions/x", "PATCH"), ("/api/tickets", "POST"),
                         ("/api/alarms/1/acknowledge", "POST")):
        resp = await preflight(cors_api, path, APP, method)
        assert resp.status == 200, (path, method)
        assert resp.headers["Access-Control-Allow-Origin"] == APP
        assert resp.headers["Access-Control-Allow-Methods"] == method
        assert "AUTHORIZATION" in resp.headers["Access-Control-Allow-Headers"].upper()
        assert "Access-Control-Allow-Credentials" not in resp.headers
        assert "Origin" in resp.headers.getall("Vary")
        bad = await preflight(cors_api, path, EVIL, method)
        assert bad.status == 403 and "Access-Control-Allow-Origin" not in bad.headers
    resp = await preflight(cors_api, "/whep/cameras/1", APP, "POST")
    assert resp.headers["Accept-Post"] == "application/sdp"
    # A method the URL does not have, a header we never read: refused.
    assert (await preflight(cors_api, "/whep/cameras/1", APP, "PUT")).status == 403
    assert (await preflight(cors_api, "/whep/cameras/1", APP, "POST",
                            "x-evil")).status == 403
    # The wall page's own routes and the event stream are for the wall page only.
    for path in ("/api/wall/me", "/api/wall/pairings/claim"):
        assert (await preflight(cors_api, path, APP, "POST")).status == 405


async def test_answers_expose_whep_headers_and_never_allow_credentials(
        cors_api: Api) -> None:
    token = await cors_api.login("operator")
    async with cors_api.session.get(cors_api.base + "/api/cameras", headers={
            "Origin": APP, "Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == APP
        exposed = resp.headers["Access-Control-Expose-Headers"].split(",")
        assert {"Location", "Link", "ETag"} <= set(exposed)
        assert "Access-Control-Allow-Credentials" not in resp.headers
    # Errors are readable too (a player shows why), still without credentials.
    async with cors_api.session.post(cors_api.base + "/whep/cameras/1", data="v=0",
                                     headers={"Origin": APP,
                                              "Content-Type": "application/sdp"}) as resp:
        assert resp.status == 401 and resp.headers["Access-Control-Allow-Origin"] == APP
    async with cors_api.session.get(cors_api.base + "/api/cameras",
                                    headers={"Origin": EVIL}) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_cors_does_not_make_the_cookie_count_cross_site(cors_api: Api) -> None:
    """An allowed origin is still another origin for the session cookie: a write
    with the cookie from there is refused, and no answer allows credentials."""
    token = await cors_api.login("operator")
    cookie = {"Cookie": f"pantau_token={token}"}
    # WHEP takes the cookie (the wall page's route), and only from our own pages.
    async with cors_api.session.post(cors_api.base + "/whep/cameras/1", data="v=0",
                                     headers={"Origin": APP, "Content-Type": "application/sdp",
                                              **cookie}) as resp:
        assert resp.status == 403 and (await resp.json())["error"] == "cross_site"
        assert "Access-Control-Allow-Credentials" not in resp.headers
    async with cors_api.session.get(cors_api.base + "/api/tickets",
                                    headers={"Origin": APP, **cookie}) as resp:
        assert resp.status == 401  # the cookie is no credential on the API


async def test_open311_reads_from_any_origin_posts_only_from_the_list(cors_api: Api) -> None:
    async with cors_api.session.get(cors_api.base + "/open311/v2/services.json",
                                    headers={"Origin": EVIL}) as resp:
        # aiohttp-cors names the asking origin (with Vary: Origin) rather than "*"
        assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == EVIL
    async with cors_api.session.post(cors_api.base + "/open311/v2/requests.json",
                                     data={"api_key": "nope"},
                                     headers={"Origin": EVIL}) as resp:
        assert resp.status == 403 and "Access-Control-Allow-Origin" not in resp.headers
    assert (await preflight(cors_api, "/open311/v2/requests.json", EVIL, "POST")).status \
        == 403
    resp = await preflight(cors_api, "/open311/v2/requests.json", APP, "POST",
                           "content-type")
    assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == APP


async def test_no_origin_is_allowed_by_default(api: Api) -> None:
    resp = await preflight(api, "/whep/cameras/1", APP, "POST")
    assert resp.status == 403 and "Access-Control-Allow-Origin" not in resp.headers
    async with api.session.get(api.base + "/open311/v2/services.json",
                               headers={"Origin": APP}) as r:
        assert "Access-Control-Allow-Origin" not in r.headers


def test_origins_setting() -> None:
    def origins(raw: str) -> tuple[str, ...]:
        return Settings(database_url="postgres://x@localhost/x", cors_origins=raw).cors_origins

    assert origins("") == ()
    assert origins("*") == ("*",)
    assert origins("https://A.example.org, http://b.example:8080") == (
        "https://a.example.org", "http://b.example:8080")
    for bad in ("a.example.org", "https://a.example/path?x", "*, https://a.example",
                "javascript:alert(1)"):
        with pytest.raises(SettingsError):
            origins(bad)
