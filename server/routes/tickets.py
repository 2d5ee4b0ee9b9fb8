"""REST API for tickets, 112 calls and the city's reference lists.

Handlers parse and authorise, call the function in server/tickets that owns
the rule, and render. Operators may do everything; department staff see and act
on tickets routed to their department only (acknowledge, start, resolve,
refuse, notes); walls and devices get 403.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from db.orm import conn
from server.auth import ANY_OPERATOR, DEPARTMENT, Principal, forbidden, principal_of, requires
from server.errors import not_found
from server.groupcommit import GroupCommit
from server.tickets import duplicates, intake, lifecycle, notes, queue, store
from server.tickets.intake import TAG, NewTicket
from server.tickets.records import fetch_view, iso, resolve_key, ticket_json
from server.validation import Fields, json_body

routes = web.RouteTableDef()
STAFF = (ANY_OPERATOR, DEPARTMENT)
OPERATOR_CHANNELS = ("web", "call112", "panic", "cctv", "walk_in")
ACTIONS = "|".join(lifecycle.STATUS_ACTIONS)


# New tickets from every channel's HTTP intake, group-committed (server/groupcommit.py).
intake_key: web.AppKey[GroupCommit[intake.Intake, dict[str, Any]]] = web.AppKey("intake")


async def _intake_queue(app: web.Application) -> AsyncIterator[None]:
    group: GroupCommit[intake.Intake, dict[str, Any]] = GroupCommit(
        "ticket-intake", intake.create_tickets, max_batch=100)
    app[intake_key] = group
    group.start()
    yield
    await group.stop()


async def file_ticket(request: web.Request, new: NewTicket, principal: Principal | None,
                      actor: str | None = None) -> dict[str, Any]:
    """`intake.create_ticket`, sharing a transaction with the intakes that arrive
    at the same moment: the ticket plus `duplicate_candidates`, or its ApiError."""
    return await request.app[intake_key].submit(intake.Intake(new, principal, actor))


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def _ticket_id(request: web.Request, name: str = "id") -> int:
    ticket_id = await _lookup(request.match_info[name])
    if ticket_id is None:
        raise not_found("ticket")
    return ticket_id


async def _lookup(key: str) -> int | None:
    return await resolve_key(conn(), key)


async def _visible_row(request: web.Request) -> dict[str, Any]:
    row = await fetch_view(conn(), await _ticket_id(request))
    if row is None or not store.may_view(principal_of(request), row):
        raise not_found("ticket")
    return row


def _tags(f: Fields) -> list[str] | None:
    if f.data.get("tags") is None:
        return None
    tags = f.string_list("tags", required=False)
    if "tags" not in f.errors and not all(TAG.match(t) for t in tags):
        f.errors["tags"] = "tags are a-z, 0-9, '-', '_' (at most 40 characters)"
    return tags


# -- reading ------------------------------------------------------------------

@routes.get("/api/tickets")
@requires(*STAFF)
async def list_tickets(request: web.Request) -> web.Response:
    me = principal_of(request)
    db = conn()
    q = await queue.parse(db, dict(request.query))
    if not me.is_operator:
        # Department staff: their own department's queue, whatever they asked.
        if request.query.get("department") and q.department_id != me.department_id:
            raise forbidden("department staff see only their own department's tickets")
        q.department_id = me.department_id
    return _json(await queue.page(db, q))


@routes.get("/api/tickets/{id}")
@requires(*STAFF)
async def get_ticket(request: web.Request) -> web.Response:
    row = await _visible_row(request)
    db = conn()
    body = ticket_json(row)
    body["notes"] = await notes.list_notes(db, row["id"])
    body["co_reporters"] = await duplicates.co_reporters(db, row["id"])
    body["attributes"] = row["attributes"]
    return _json(body)


@routes.get("/api/tickets/{id}/history")
@requires(*STAFF)
async def ticket_history(request: web.Request) -> web.Response:
    row = await _visible_row(request)
    rows = await conn().execute_query_dict(
        "SELECT id, kind, actor, payload, created_at FROM events"
        " WHERE subject_type = 'ticket' AND subject_id = $1 ORDER BY id", [str(row["id"])])
    out = []
    for r in rows:
        payload = r["payload"]
        if isinstance(payload, str):
            payload = json.loads(payload)
        after = payload.get("ticket") or {}
        entry = {"id": r["id"], "kind": r["kind"], "actor": r["actor"],
                 "at": iso(r["created_at"]), "action": payload.get("action"),
                 "changes": payload.get("changes", {}),
                 # What the ticket was after the event, so a timeline can say it in a
                 # sentence ("Routed to DISHUB") without a second request.
                 "status": payload.get("status"), "priority": payload.get("priority"),
                 "channel": payload.get("channel"), "department": after.get("department"),
                 **{k: payload[k] for k in ("reason", "into", "missed") if k in payload}}
        note = payload.get("note")
        if note:  # the note's text, like `reason`; the note itself is in GET /{id}
            entry["note"] = note.get("body") if isinstance(note, dict) else note
        out.append(entry)
    return _json({"reference": row["reference"], "events": out})


@routes.get("/api/tickets/{id}/duplicates")
@requires(ANY_OPERATOR)
async def ticket_duplicates(request: web.Request) -> web.Response:
    ticket_id = await _ticket_id(request)
    return _json({"items": await duplicates.candidates(conn(), ticket_id)})


# -- intake -------------------------------------------------------------------

def _new_ticket(f: Fields, channel: str) -> NewTicket:
    reporter = f.data.get("reporter") or {}
    if not isinstance(reporter, dict):
        f.errors["reporter"] = "must be an object {name, phone, email}"
        reporter = {}
    rf = Fields(reporter)
    new = NewTicket(
        channel=channel,
        description=f.text("description", max_len=intake.MAX_DESCRIPTION),
        category=f.text("category", required=False, max_len=40) or None,
        priority=f.integer("priority", required=False, lo=1, hi=4),
        address=f.text("address", required=False, max_len=intake.MAX_ADDRESS),
        lat=f.number("lat", required=False, lo=-90, hi=90),
        lon=f.number("lon", required=False, lo=-180, hi=180),
        district=f.text("district", required=False, max_len=40) or None,
        reporter_name=rf.text("name", required=False, max_len=intake.MAX_NAME),
        reporter_phone=rf.text("phone", required=False, max_len=40),
        reporter_email=rf.text("email", required=False, max_len=200),
        anonymous=f.boolean("anonymous"),
        tags=_tags(f) or [],
    )
    f.errors.update({f"reporter.{k}": v for k, v in rf.errors.items()})
    return new


@routes.post("/api/tickets")
@requires(ANY_OPERATOR)
async def create_ticket(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    channel = f.choice("channel", OPERATOR_CHANNELS) or "walk_in"
    new = _new_ticket(f, channel)
    f.errors = {**new.check(), **f.errors}
    f.check()
    return _json(await file_ticket(request, new, principal_of(request)), 201)


@routes.post("/api/calls")
@requires(ANY_OPERATOR)
async def take_call(request: web.Request) -> web.Response:
    """A 112 call as the call-taker types it: caller number, where, what happened.

    With `close_reason` the call is no emergency (prank, information, wrong number,
    duplicate): it is filed and closed in one request, and needs no place, which
    such callers seldom give; the call-taker presses one key, not five Tabs.
    """
    data = await json_body(request)
    f = Fields(data)
    caller = f.text("caller_number", max_len=40)
    close_reason = f.choice("close_reason", intake.CALL_CLOSE_REASONS, required=False)
    new = NewTicket(
        channel="call112",
        description=f.text("what_happened", max_len=intake.MAX_DESCRIPTION),
        category=f.text("category", required=False, max_len=40) or None,
        priority=f.integer("priority", required=False, lo=1, hi=4),
        address=f.text("location", required=False, max_len=intake.MAX_ADDRESS),
        lat=f.number("lat", required=False, lo=-90, hi=90),
        lon=f.number("lon", required=False, lo=-180, hi=180),
        district=f.text("district", required=False, max_len=40) or None,
        reporter_name=f.text("caller_name", required=False, max_len=intake.MAX_NAME),
        reporter_phone=caller,
        place_required=close_reason is None,
    )
    renamed = {"reporter_phone": "caller_number", "description": "what_happened",
               "address": "location", "reporter_name": "caller_name"}
    f.errors = {**{renamed.get(k, k): v for k, v in new.check().items()}, **f.errors}
    f.check()
    filed = await file_ticket(request, new, principal_of(request))
    if close_reason is not None:
        filed = await intake.close_call(int(filed["id"]), principal_of(request), close_reason)
    return _json(filed, 201)


@routes.post("/api/calls/{id}/close")
@requires(ANY_OPERATOR)
async def close_call(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    reason = f.choice("reason", intake.CALL_CLOSE_REASONS)
    note = f.text("note", required=False, max_len=notes.MAX_NOTE)
    f.check()
    assert reason is not None
    return _json(await intake.close_call(await _ticket_id(request), principal_of(request),
                                         reason, note))


# -- triage, routing, status --------------------------------------------------

@routes.post("/api/tickets/{id}/triage")
@requires(ANY_OPERATOR)
async def triage(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    version = f.integer("version", lo=1)
    priority = f.integer("priority", required=False, lo=1, hi=4)
    category = f.text("category", required=False, max_len=40) or None
    district = f.text("district", required=False, max_len=40) or None
    tags = _tags(f)
    f.check()
    assert version is not None
    return _json(await lifecycle.triage(await _ticket_id(request), principal_of(request),
                                        version, priority=priority, category=category,
                                        district=district, tags=tags))


@routes.post("/api/tickets/{id}/route")
@requires(ANY_OPERATOR)
async def route(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    version = f.integer("version", lo=1)
    department = f.text("department", required=False, max_len=40) or None
    f.check()
    assert version is not None
    return _json(await lifecycle.route(await _ticket_id(request), principal_of(request),
                                       version, department))


@routes.post("/api/tickets/{id}/notes")
@requires(*STAFF)
async def add_note(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    body = f.text("body", max_len=notes.MAX_NOTE)
    f.check()
    return _json(await notes.add_note(await _ticket_id(request), principal_of(request), body),
                 201)


@routes.post("/api/tickets/{id}/{action:" + ACTIONS + "}")
@requires(*STAFF)
async def status_action(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    version = f.integer("version", lo=1)
    note = f.text("note", required=False, max_len=notes.MAX_NOTE)
    reason = f.text("reason", required=False, max_len=500)
    f.check()
    assert version is not None
    me: Principal = principal_of(request)
    return _json(await lifecycle.act(await _ticket_id(request), request.match_info["action"],
                                     me, version, note=note, reason=reason))


# -- duplicates ---------------------------------------------------------------

async def _id_field(f: Fields, name: str, value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        f.errors[name] = "a ticket id or reference"
        return None
    ticket_id = await _lookup(str(value))
    if ticket_id is None:
        f.errors[name] = f"no ticket {value}"
    return ticket_id


@routes.post("/api/tickets/merge")
@requires(ANY_OPERATOR)
async def bulk_merge(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    into = await _id_field(f, "into", f.data.get("into"))
    raw_ids = f.data.get("ids")
    ids: list[int] = []
    if not isinstance(raw_ids, list) or not raw_ids:
        f.errors["ids"] = "a non-empty list of ticket ids"
    else:
        for value in raw_ids:
            ticket_id = await _id_field(f, "ids", value)
            if ticket_id is not None:
                ids.append(ticket_id)
    f.check()
    assert into is not None
    merged = await duplicates.bulk_merge(into, ids, principal_of(request))
    return _json({"merged": merged})


@routes.post("/api/tickets/{id}/merge")
@requires(ANY_OPERATOR)
async def merge(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    version = f.integer("version", lo=1)
    into = await _id_field(f, "into", f.data.get("into"))
    f.check()
    assert version is not None and into is not None
    return _json(await duplicates.merge(await _ticket_id(request), into, principal_of(request),
                                        version))


@routes.post("/api/tickets/{id}/unmerge")
@requires(ANY_OPERATOR)
async def unmerge(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    version = f.integer("version", required=False, lo=1)
    f.check()
    return _json(await duplicates.unmerge(await _ticket_id(request), principal_of(request),
                                          version))


# -- reference lists ----------------------------------------------------------

@routes.get("/api/departments")
@requires()
async def departments(request: web.Request) -> web.Response:
    rows = await conn().execute_query_dict(
        "SELECT * FROM departments WHERE active ORDER BY code")
    return _json([{"code": r["code"], "name": r["name"], "name_en": r["name_en"],
                   "is_emergency_service": r["is_emergency_service"],
                   "sla": {"ack_minutes": r["sla_ack_minutes"],
                           "dispatch_minutes": r["sla_dispatch_minutes"],
                           "verify_days": r["sla_verify_days"],
                           "resolve_days": r["sla_resolve_days"]}} for r in rows])


@routes.get("/api/categories")
@requires()
async def categories(request: web.Request) -> web.Response:
    rows = await conn().execute_query_dict(
        "SELECT c.*, d.code AS dept_code FROM categories c"
        " LEFT JOIN departments d ON d.id = c.department_id WHERE c.active ORDER BY c.code")
    return _json([{"code": r["code"], "name": r["name"], "name_en": r["name_en"],
                   "description": r["description"], "default_priority": r["default_priority"],
                   "department": r["dept_code"], "channel": r["channel"]} for r in rows])


@routes.get("/api/districts")
@requires()
async def districts(request: web.Request) -> web.Response:
    rows = await conn().execute_query_dict("SELECT * FROM districts ORDER BY code")
    return _json([{"code": r["code"], "name": r["name"], "lat": r["lat"], "lon": r["lon"]}
                  for r in rows])


def setup(app: web.Application) -> None:
    """Everything tickets add to the app, so server/app.py needs one line for it."""
    from server.routes import dept_page, open311, public_form
    from server.tickets.scheduler import sla_scheduler

    app.add_routes(routes)
    app.add_routes(open311.routes)
    app.add_routes(public_form.routes)
    app.add_routes(dept_page.routes)
    app.cleanup_ctx.append(_intake_queue)
    app.cleanup_ctx.append(sla_scheduler)
