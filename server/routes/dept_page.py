"""The department page at /dept: staff of one department (SKPD) sign in, see the
open tickets routed to them, and acknowledge, start, resolve, refuse or note them.

Server-rendered forms (each carries the ticket version, so a stale page answers
"reload" instead of overwriting); a small script (server/static/dept.js) reloads
the list when the event stream says one of the department's tickets changed. The
session is the ordinary bearer token in the session cookie, a credential only on
these routes and the event stream; a form or fetch from another origin is refused
(server/browser.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

import lang as catalogue
from db.orm import conn
from server.auth import (
    DEPARTMENT,
    authenticate,
    issue_person_token,
    principal_of,
    public,
    requires,
)
from server.browser import clear_session_cookie, looks_cross_site, set_session_cookie
from server.errors import ApiError
from server.keys import pool_key, settings_key
from server.ratelimit import Limited
from server.routes.public_form import page_language, render, when
from server.signin import SignInBusy, SignInFailed, sign_in
from server.tickets import lifecycle, notes, queue
from server.tickets.records import resolve_key

routes = web.RouteTableDef()
NEXT_ACTIONS = {"routed": ("acknowledge", "refuse"), "acknowledged": ("start", "resolve",
                                                                      "refuse"),
                "in_progress": ("resolve",)}
FLASH_CODES = ("done", "stale_version", "invalid_transition", "bad_request", "not_found",
               "forbidden", "login")


def _page(language: str, status: int = 200, **context: Any) -> web.Response:
    t = catalogue.section(language, "dept.")
    return render("dept.html", status, lang=language, t=t, title=t["title"],
                  status_names=catalogue.section(language, "status."),
                  sla_names=catalogue.section(language, "sla."), **context)


def _flash(request: web.Request, language: str) -> tuple[str | None, bool]:
    code = request.query.get("m", "")
    if code not in FLASH_CODES:
        return None, False
    return catalogue.text(language, f"dept.flash.{code}"), code != "done"


@routes.get("/dept")
@public
async def dept_home(request: web.Request) -> web.Response:
    try:
        me = await authenticate(request, cookie=True)
    except ApiError:
        me = None  # expired or revoked cookie: sign in again
    if me is None or me.kind != "person" or "department" not in me.roles:
        language = page_language(request)
        flash, bad = _flash(request, language)
        return _page(language, me=None, flash=flash, flash_bad=bad)
    rows = await conn().execute_query_dict(
        "SELECT d.*, p.language AS person_language FROM departments d, people p"
        " WHERE d.id = $1 AND p.id = $2", [me.department_id, me.id])
    language = catalogue.normalise(rows[0]["person_language"]) or catalogue.DEFAULT
    flash, bad = _flash(request, language)
    q = queue.QueueQuery(department_id=me.department_id, limit=queue.MAX_LIMIT)
    page = await queue.page(conn(), q)
    tickets = []
    for t in page["items"]:
        t["actions"] = [(a, catalogue.text(language, f"dept.action.{a}"))
                        for a in NEXT_ACTIONS.get(t["status"], ())]
        due = t["ack_due_at"] if t["status"] == "routed" else t["resolve_due_at"]
        t["due"] = when(due)
        tickets.append(t)
    return _page(language, me=me, department=rows[0], tickets=tickets,
                 capped=bool(page["next_cursor"]), flash=flash, flash_bad=bad,
                 open_count=catalogue.text(language, "dept.open_count", n=len(tickets)))


@routes.post("/dept/login")
@public
async def dept_login(request: web.Request) -> web.Response:
    if looks_cross_site(request):
        raise web.HTTPSeeOther("/dept?m=forbidden")  # no signing a victim into our account
    form = await request.post()
    username = str(form.get("username", "")).replace("\x00", "").strip().lower()[:40]
    password = str(form.get("password", "")).replace("\x00", "")[:200]
    try:
        row = await sign_in(request, username, password, door="dept",
                            allowed=lambda r: "department" in r["roles"])
    except SignInFailed as exc:
        raise web.HTTPSeeOther("/dept?m=login") from exc
    except (Limited, SignInBusy) as exc:
        language = page_language(request, form)
        page = _page(language, 429, me=None, flash_bad=True, flash=catalogue.text(
            language, "dept.too_many", n=exc.retry_after))
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    pool = request.app[pool_key]
    ttl = timedelta(hours=request.app[settings_key].token_ttl_hours)
    token, _ = await issue_person_token(pool, row["id"], ttl, label="dept page")
    resp = web.HTTPSeeOther("/dept")
    set_session_cookie(resp, request, token, int(ttl.total_seconds()))
    raise resp


@routes.post("/dept/logout")
@requires(DEPARTMENT, cookie=True)
async def dept_logout(request: web.Request) -> web.Response:
    await request.app[pool_key].execute(
        "UPDATE auth_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        principal_of(request).token_id)
    resp = web.HTTPSeeOther("/dept")
    clear_session_cookie(resp, request)
    raise resp


@routes.post("/dept/tickets/{id}/{action:acknowledge|start|resolve|refuse|note}")
@requires(DEPARTMENT, cookie=True)
async def dept_action(request: web.Request) -> web.Response:
    form = await request.post()
    me = principal_of(request)
    action = request.match_info["action"]
    code = "done"
    try:
        ticket_id = await resolve_key(conn(), request.match_info["id"])
        if ticket_id is None:
            raise ApiError(404, "not_found", "ticket not found")
        if action == "note":
            await notes.add_note(ticket_id, me, str(form.get("body", "")))
        else:
            raw = str(form.get("version", ""))
            if not raw.isdigit():
                raise ApiError(400, "bad_request", "version missing")
            await lifecycle.act(ticket_id, action, me, int(raw),
                                note=str(form.get("note", "")).strip()[:5000],
                                reason=str(form.get("reason", "")).strip()[:500])
    except ApiError as exc:
        code = exc.body_json.get("error", "bad_request")
    raise web.HTTPSeeOther(f"/dept?m={code}")
