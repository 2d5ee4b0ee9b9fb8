"""Shifts and handovers over HTTP: operators read and check themselves in/out;
only supervisors (and admins) change shifts. Rules live in server/shifts."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from typing import Any, TypeVar

from aiohttp import web

from server.auth import ANY_OPERATOR, SUPERVISORS, principal_of, requires
from server.errors import ApiError, bad_request
from server.shifts import handover, lifecycle, presence, roster, views
from server.shifts.actors import Actor
from server.shifts.clock import JAKARTA
from server.shifts.errors import ShiftError
from server.validation import Fields, json_body

routes = web.RouteTableDef()
T = TypeVar("T")
USERNAME_MAX = 40


def _actor(request: web.Request) -> Actor:
    p = principal_of(request)
    return Actor(p.id, p.name, p.roles, "api")


async def _rule(work: Awaitable[T]) -> T:
    """Run a shift rule; a refusal becomes a JSON error with the rule's status."""
    try:
        return await work
    except ShiftError as exc:
        fields = {exc.field: str(exc)} if exc.field else None
        raise ApiError(exc.status, exc.code, str(exc), fields) from exc


def _id(request: web.Request, name: str = "shift_id") -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 9:
        raise bad_request(f"{name} must be a number", {name: "not a number"})
    return int(raw)


def _day(raw: str | None, name: str = "day") -> date:
    if raw is None:
        return datetime.now(JAKARTA).date()
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be YYYY-MM-DD", {name: "not a date"}) from exc


@routes.get("/api/shifts/current")
@requires(ANY_OPERATOR)
async def current(request: web.Request) -> web.Response:
    view = await views.current()
    me = principal_of(request).name
    view["me"] = next((r for r in view.get("roster", []) if r["username"] == me), None)
    return web.json_response(view)


@routes.get("/api/shifts")
@requires(ANY_OPERATOR)
async def by_day(request: web.Request) -> web.Response:
    return web.json_response(await views.day_view(_day(request.query.get("day"))))


@routes.post("/api/shifts")
@requires(SUPERVISORS)
async def plan(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    template = f.text("template", max_len=40)
    day_raw = f.text("day", max_len=10)
    f.check()
    shift = await _rule(roster.plan_shift(template, _day(day_raw), _actor(request)))
    return web.json_response(await views.by_id(shift.id), status=201)


@routes.get("/api/shifts/{shift_id}")
@requires(ANY_OPERATOR)
async def one(request: web.Request) -> web.Response:
    return web.json_response(await _rule(views.by_id(_id(request))))


@routes.post("/api/shifts/{shift_id}/open")
@requires(SUPERVISORS)
async def open_(request: web.Request) -> web.Response:
    result = await _rule(lifecycle.open_shift(_id(request), _actor(request)))
    return web.json_response(result)


@routes.post("/api/shifts/{shift_id}/close")
@requires(SUPERVISORS)
async def close(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    notes = f.text("notes", required=False, max_len=handover.MAX_NOTES)
    f.check()
    result = await _rule(lifecycle.close_shift(_id(request), _actor(request), notes))
    return web.json_response(result)


@routes.post("/api/shifts/{shift_id}/assign")
@requires(SUPERVISORS)
async def assign(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    person = f.text("person", max_len=USERNAME_MAX)
    role = f.choice("role", ("call_center", "expert", "police", "supervisor"), required=False)
    f.check()
    result = await _rule(roster.assign(_id(request), person, role, _actor(request)))
    return web.json_response(result, status=201)


@routes.post("/api/shifts/{shift_id}/swap")
@requires(SUPERVISORS)
async def swap(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    out = f.text("out", max_len=USERNAME_MAX)
    in_ = f.text("in", max_len=USERNAME_MAX)
    other = f.integer("other_shift", required=False, lo=1, hi=2**31 - 1)
    reason = f.text("reason", required=False, max_len=500)
    f.check()
    result = await _rule(roster.swap(_id(request), out, in_, _actor(request),
                                     other_shift_id=other, reason=reason))
    return web.json_response(result)


async def _presence_body(request: web.Request) -> str | None:
    f = Fields(await json_body(request))
    person = f.text("person", required=False, max_len=USERNAME_MAX) or None
    f.check()
    return person


@routes.post("/api/shifts/{shift_id}/checkin")
@requires(ANY_OPERATOR)
async def checkin(request: web.Request) -> web.Response:
    person = await _presence_body(request)
    return web.json_response(await _rule(presence.check_in(_actor(request), _id(request),
                                                           person)))


@routes.post("/api/shifts/{shift_id}/checkout")
@requires(ANY_OPERATOR)
async def checkout(request: web.Request) -> web.Response:
    person = await _presence_body(request)
    return web.json_response(await _rule(presence.check_out(_actor(request), _id(request),
                                                            person)))


@routes.post("/api/shifts/{shift_id}/handover")
@requires(SUPERVISORS)
async def write_handover(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    notes = f.text("notes", required=False, max_len=handover.MAX_NOTES)
    f.check()
    note = await _rule(handover.write_handover(_id(request), _actor(request), notes))
    return web.json_response(note, status=201)


@routes.get("/api/handovers")
@requires(ANY_OPERATOR)
async def list_handovers(request: web.Request) -> web.Response:
    pending = request.query.get("pending", "false").lower()
    if pending not in ("true", "false", "1", "0"):
        raise bad_request("pending must be true or false", {"pending": "not a boolean"})
    rows: list[dict[str, Any]] = await handover.handovers(pending_only=pending in ("true", "1"))
    return web.json_response(rows)


@routes.get("/api/handovers/{handover_id}")
@requires(ANY_OPERATOR)
async def one_handover(request: web.Request) -> web.Response:
    return web.json_response(await _rule(handover.handover(_id(request, "handover_id"))))


@routes.post("/api/handovers/{handover_id}/acknowledge")
@requires(SUPERVISORS)
async def acknowledge(request: web.Request) -> web.Response:
    note = await _rule(handover.acknowledge(_id(request, "handover_id"), _actor(request)))
    return web.json_response(note)
