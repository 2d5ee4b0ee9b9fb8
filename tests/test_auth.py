"""Sign-in, tokens (expiry, revocation) and each role's limits, with JSON error bodies."""

from __future__ import annotations

import asyncpg

from tests.conftest import Api


async def test_wrong_password_and_unknown_user_get_the_same_401(api: Api) -> None:
    s1, b1 = await api.post("/api/auth/login", {"username": "operator", "password": "nope-nope"})
    s2, b2 = await api.post("/api/auth/login", {"username": "nobody", "password": "nope-nope"})
    assert (s1, s2) == (401, 401)
    assert b1 == b2 and b1["error"] == "unauthorised"


async def test_login_validates_its_body(api: Api) -> None:
    status, body = await api.post("/api/auth/login", {"username": "operator"})
    assert status == 400 and body["fields"] == {"password": "required"}
    status, body = await api.request("POST", "/api/auth/login", data=b"{not json",
                                     headers={"Content-Type": "application/json"})
    assert status == 400 and body["error"] == "bad_request"


async def test_no_token_and_garbage_token_are_401(api: Api) -> None:
    status, body = await api.get("/api/me")
    assert status == 401 and body["error"] == "unauthorised"
    status, body = await api.get("/api/me", token="pt_garbage")
    assert status == 401 and body["message"] == "unknown token"


async def test_logout_revokes_the_token(api: Api) -> None:
    token = await api.login("operator")
    assert (await api.get("/api/me", token=token))[0] == 200
    assert (await api.post("/api/auth/logout", token=token))[0] == 200
    status, body = await api.get("/api/me", token=token)
    assert status == 401 and body["message"] == "token revoked"


async def test_expired_token_is_refused(api: Api, db_url: str) -> None:
    token = await api.login("operator")
    conn = await asyncpg.connect(db_url)
    await conn.execute("UPDATE auth_tokens SET expires_at = now() - interval '1 second'")
    await conn.close()
    status, body = await api.get("/api/me", token=token)
    assert status == 401 and body["message"] == "token expired"


async def test_tokens_are_stored_only_as_hashes(api: Api, db_url: str) -> None:
    token = await api.login("operator")
    conn = await asyncpg.connect(db_url)
    stored = await conn.fetchval("SELECT string_agg(token_hash, ',') FROM auth_tokens")
    await conn.close()
    assert token not in stored


async def test_role_limits_on_people_endpoints(api: Api) -> None:
    admin = await api.login("admin")
    supervisor = await api.login("supervisor")
    operator = await api.login("operator")
    dept = await api.login("dsdabm.staff")
    new = {"username": "baru", "full_name": "Orang Baru", "password": "kopi-susu-merah-7",
           "roles": ["call_center"]}
    assert (await api.get("/api/people", token=supervisor))[0] == 200
    assert (await api.get("/api/people", token=operator))[0] == 403
    assert (await api.get("/api/people", token=dept))[0] == 403
    status, body = await api.post("/api/people", new, token=supervisor)
    assert status == 403 and body["error"] == "forbidden"
    assert (await api.post("/api/people", new, token=admin))[0] == 201
    # the new account can sign in, and disabling it signs it out at once
    token = await api.login("baru", "kopi-susu-merah-7")
    assert (await api.post("/api/people/baru/disable", token=admin))[0] == 200
    assert (await api.get("/api/me", token=token))[0] == 401
    status, _ = await api.post("/api/auth/login",
                               {"username": "baru", "password": "kopi-susu-merah-7"})
    assert status == 401


async def test_person_validation_names_each_bad_field(api: Api) -> None:
    admin = await api.login("admin")
    status, body = await api.post("/api/people", {"username": "x", "roles": ["wizard"],
                                                  "password": "short"}, token=admin)
    assert status == 400
    assert set(body["fields"]) >= {"full_name", "password", "roles"}
    status, body = await api.post("/api/people", {
        "username": "staf2", "full_name": "Staf", "password": "kopi-susu-merah-7",
        "roles": ["department"]}, token=admin)
    assert status == 400 and "department" in body["fields"]


async def test_wall_token_can_watch_events_but_not_administer(api: Api, db_url: str) -> None:
    from datetime import timedelta

    from server.auth import issue_wall_token

    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1)
    monitor_id = await pool.fetchval("SELECT id FROM monitors WHERE code = 'main'")
    token, _ = await issue_wall_token(pool, monitor_id, timedelta(hours=1))
    await pool.close()
    status, me = await api.get("/api/me", token=token)
    assert status == 200 and me["kind"] == "wall"
    status, body = await api.get("/api/people", token=token)
    assert status == 403 and "wall" in body["message"]
    ws = await api.ws(token=token)
    hello = await ws.receive_json()
    assert hello["type"] == "hello"
    await ws.close()
