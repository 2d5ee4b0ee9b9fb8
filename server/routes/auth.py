"""Sign in, sign out, who am I."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

import lang
from server.auth import issue_person_token, principal_of, public, requires, unauthorised
from server.errors import ApiError
from server.keys import pool_key, settings_key
from server.people import set_language
from server.ratelimit import Limited, too_many
from server.signin import SignInBusy, SignInFailed, sign_in
from server.validation import Fields, json_body

routes = web.RouteTableDef()


@routes.post("/api/auth/login")
@public
async def login(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    username = f.text("username", max_len=40).lower()
    password = f.text("password", max_len=200)
    f.check()
    try:
        row = await sign_in(request, username, password, door="api")
    except SignInFailed as exc:
        raise unauthorised("wrong username or password") from exc
    except Limited as exc:
        raise too_many(exc, "too many sign-in attempts") from exc
    except SignInBusy as exc:
        raise ApiError(429, "too_many_requests", str(exc),
                       headers={"Retry-After": str(exc.retry_after)}) from exc
    pool = request.app[pool_key]
    ttl = timedelta(hours=request.app[settings_key].token_ttl_hours)
    token, expires = await issue_person_token(pool, row["id"], ttl, label="login")
    return web.json_response({
        "token": token,
        "expires_at": expires.isoformat(),
        "person": {"id": row["id"], "username": row["username"], "full_name": row["full_name"],
                   "roles": list(row["roles"]), "department_id": row["department_id"],
                   "language": row["language"]},
    })


@routes.post("/api/auth/logout")
@requires(kinds=("person", "wall"))
async def logout(request: web.Request) -> web.Response:
    me = principal_of(request)
    await request.app[pool_key].execute(
        "UPDATE auth_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        me.token_id)
    return web.json_response({"ok": True})


async def _me_json(request: web.Request) -> dict[str, object]:
    p = principal_of(request)
    if p.kind == "person":
        language = await request.app[pool_key].fetchval(
            "SELECT language FROM people WHERE id = $1", p.id)
    else:
        language = await request.app[pool_key].fetchval(
            "SELECT language FROM monitors WHERE id = $1", p.monitor_id)
    return {"kind": p.kind, "id": p.id, "name": p.name, "roles": sorted(p.roles),
            "department_id": p.department_id, "monitor_id": p.monitor_id,
            "language": language}


@routes.get("/api/me")
@requires(kinds=("person", "wall"))
async def me(request: web.Request) -> web.Response:
    """Who is calling, and the language their surfaces show (a person's own; a wall
    display's monitor's)."""
    return web.json_response(await _me_json(request))


@routes.patch("/api/me")
@requires(kinds=("person",))
async def change_me(request: web.Request) -> web.Response:
    """{"language": "id"|"en"}: the person's language, kept on the server."""
    body = await json_body(request)
    f = Fields(body)
    language = f.choice("language", lang.LANGUAGES)
    unknown = sorted(set(body) - {"language"})
    if unknown:
        f.errors[unknown[0][:40]] = "cannot be changed here"
    f.check()
    await set_language(principal_of(request).id, str(language),
                       actor=principal_of(request).actor)
    return web.json_response(await _me_json(request))
