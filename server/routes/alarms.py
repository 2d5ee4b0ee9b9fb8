"""Panic alarms: raised by signed devices, handled by operators, watched by walls."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from tortoise import connections

from server.alarms import lifecycle
from server.alarms.lifecycle import AlarmError, Replayed
from server.alarms.scheduler import outbox_wake_key, raiser_key
from server.alarms.signing import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY,
    device_endpoint,
    refuse,
    signature_key,
)
from server.auth import ANY_OPERATOR, principal_of, requires, unauthorised
from server.errors import ApiError, bad_request, not_found
from server.events.visibility import wall_alarms
from server.validation import Fields, json_body

routes = web.RouteTableDef()
log = logging.getLogger("pantau.devices")
LIST_LIMIT = 500


def _error(exc: AlarmError) -> ApiError:
    if exc.status == 401:
        return unauthorised(str(exc))
    if exc.status == 404:
        return not_found("alarm")
    if exc.status == 409:
        return ApiError(409, "invalid_transition", str(exc))
    return bad_request(str(exc))


def _alarm_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise not_found("alarm")
    return int(raw)


def _press_location(raw: bytes) -> tuple[float | None, float | None, dict[str, str]]:
    """(lat, lon, ignored) from a signed press's body; never refuses.

    The press is authentic (the signature covered these bytes) and someone is
    pressing for help: a location that is not two finite numbers in range (a GPS
    without a fix sends NaN, a firmware bug sends text) is ignored, field by
    field, and the alarm is raised at the device's enrolled location. `ignored`
    names what was dropped and why, for the answer and the log.
    """
    if not raw.strip():
        return None, None, {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, None, {"body": f"not valid JSON ({exc})"}
    if not isinstance(data, dict):
        return None, None, {"body": "not a JSON object"}
    f = Fields(data)
    lat = f.number("lat", required=False, lo=-90, hi=90)
    lon = f.number("lon", required=False, lo=-180, hi=180)
    if not f.errors and (lat is None) != (lon is None):
        f.errors["lat" if lat is None else "lon"] = "give both lat and lon, or neither"
    if f.errors:
        return None, None, f.errors
    return lat, lon, {}


@routes.post("/api/alarms")
@device_endpoint
async def raise_alarm(request: web.Request) -> web.Response:
    """A device pressed: 201 with the new alarm, or 200 with the one this key raised.

    An unusable location never stops the alarm (see `_press_location`); the
    answer's `ignored` says which field was dropped, so the unit's log shows it.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not IDEMPOTENCY_KEY.match(key):
        raise bad_request("Idempotency-Key header of 1-100 of A-Z a-z 0-9 . _ : -",
                          {IDEMPOTENCY_HEADER: "required"})
    lat, lon, ignored = _press_location(await request.read())
    me = principal_of(request)
    if ignored:
        log.warning("device sent an unusable location; alarm raised at its enrolled "
                    "location", extra={"device": me.name, "fields": ignored,
                                       "idempotency_key": key})
    try:
        alarm, created = await request.app[raiser_key].submit(
            me.id, key, signature=request[signature_key], lat=lat, lon=lon,
            actor=me.actor)
    except Replayed:
        raise refuse(request, unauthorised("request already used (replay)"), "replay",
                     me.name) from None
    except AlarmError as exc:
        raise _error(exc) from exc
    if created:
        request.app[outbox_wake_key].set()
    body: dict[str, Any] = {"alarm": alarm, "created": created}
    if ignored:
        body["ignored"] = ignored
    return web.json_response(body, status=201 if created else 200)


@routes.get("/api/alarms")
@requires(ANY_OPERATOR, kinds=("person", "wall"))
async def list_alarms(request: web.Request) -> web.Response:
    """Open alarms, newest first; `?all=1` includes closed ones. A wall gets its view."""
    include_closed = request.query.get("all", "") in ("1", "true", "yes")
    raw_limit = request.query.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= LIST_LIMIT:
        raise bad_request(f"limit must be 1-{LIST_LIMIT}", {"limit": "out of range"})
    alarms = await lifecycle.list_alarms(
        connections.get("default"), include_closed=include_closed, limit=int(raw_limit))
    if principal_of(request).kind == "wall":
        alarms = wall_alarms(alarms)
    return web.json_response(alarms)


@routes.get("/api/alarms/{id}")
@requires(ANY_OPERATOR)
async def show_alarm(request: web.Request) -> web.Response:
    """The alarm, its timeline from the event log and each contact message's state."""
    alarm_id = _alarm_id(request)
    conn = connections.get("default")
    alarm = await lifecycle.get_alarm(conn, alarm_id)
    if alarm is None:
        raise not_found("alarm")
    alarm["timeline"] = await lifecycle.timeline(conn, alarm_id)
    alarm["notifications"] = await lifecycle.notifications(conn, alarm_id)
    return web.json_response(alarm)


async def _step(request: web.Request, action: str, **kw: str) -> web.Response:
    me = principal_of(request)
    try:
        alarm = await lifecycle.transition(_alarm_id(request), action, me, **kw)
    except AlarmError as exc:
        raise _error(exc) from exc
    return web.json_response(alarm)


@routes.post("/api/alarms/{id}/acknowledge")
@requires(ANY_OPERATOR)
async def acknowledge_alarm(request: web.Request) -> web.Response:
    return await _step(request, "acknowledge")


@routes.post("/api/alarms/{id}/dispatch")
@requires(ANY_OPERATOR)
async def dispatch_alarm(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    unit = f.text("unit", max_len=120)
    note = f.text("note", required=False, max_len=2000)
    f.check()
    return await _step(request, "dispatch", unit=unit, note=note)


@routes.post("/api/alarms/{id}/resolve")
@requires(ANY_OPERATOR)
async def resolve_alarm(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    outcome = f.choice("outcome", lifecycle.OUTCOMES) or "resolved"
    note = f.text("note", required=False, max_len=2000)
    f.check()
    return await _step(request, "resolve", outcome=outcome, note=note)
