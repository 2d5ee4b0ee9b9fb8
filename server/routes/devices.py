"""Device registry for supervisors and admins, and the signed device heartbeat."""

from __future__ import annotations

from aiohttp import web
from tortoise import connections

from server.alarms import devices
from server.alarms.lifecycle import AlarmError, Replayed
from server.alarms.signing import device_endpoint, refuse, signature_key
from server.auth import SUPERVISORS, principal_of, requires, unauthorised
from server.errors import ApiError, bad_request, not_found
from server.keys import settings_key
from server.validation import Fields, json_body

routes = web.RouteTableDef()


def _error(exc: devices.DeviceError) -> ApiError:
    if exc.status == 404:
        return not_found("device")
    if exc.status == 409:
        return ApiError(409, "conflict", str(exc), {exc.field: str(exc)} if exc.field else None)
    return bad_request(str(exc), {exc.field or "device": str(exc)})


@routes.get("/api/devices")
@requires(SUPERVISORS)
async def list_devices(request: web.Request) -> web.Response:
    return web.json_response(await devices.list_devices(connections.get("default")))


@routes.post("/api/devices")
@requires(SUPERVISORS)
async def enrol_device(request: web.Request) -> web.Response:
    data = await json_body(request)
    f = Fields(data)
    code = f.text("code", max_len=60, min_len=2)
    owner_name = f.text("owner_name", max_len=120)
    owner_kind = f.choice("owner_kind", devices.OWNER_KINDS, required=False,
                          default="citizen") or "citizen"
    address = f.text("address", required=False, max_len=300)
    district = f.text("district", required=False, max_len=60) or None
    lat = f.number("lat", lo=-90, hi=90)
    lon = f.number("lon", lo=-180, hi=180)
    contacts = data.get("contacts", [])
    f.check()
    assert lat is not None and lon is not None
    try:
        made = await devices.enrol(code=code, owner_name=owner_name, owner_kind=owner_kind,
                                   address=address, district_code=district, lat=lat, lon=lon,
                                   contacts=contacts, actor=principal_of(request).actor,
                                   settings=request.app[settings_key])
    except devices.DeviceError as exc:
        raise _error(exc) from exc
    # The only time the secret leaves the server.
    return web.json_response({"device": made.device, "secret": made.secret}, status=201)


@routes.get("/api/devices/{code}")
@requires(SUPERVISORS)
async def show_device(request: web.Request) -> web.Response:
    found = await devices.get_device(connections.get("default"), request.match_info["code"])
    if found is None:
        raise not_found("device")
    return web.json_response(found)


@routes.post("/api/devices/{code}/rotate")
@requires(SUPERVISORS)
async def rotate_device_secret(request: web.Request) -> web.Response:
    try:
        made = await devices.rotate_secret(request.match_info["code"],
                                           actor=principal_of(request).actor,
                                           settings=request.app[settings_key])
    except devices.DeviceError as exc:
        raise _error(exc) from exc
    return web.json_response({"device": made.device, "secret": made.secret})


@routes.post("/api/devices/{code}/disable")
@requires(SUPERVISORS)
async def disable_device(request: web.Request) -> web.Response:
    try:
        device = await devices.disable(request.match_info["code"],
                                       actor=principal_of(request).actor)
    except devices.DeviceError as exc:
        raise _error(exc) from exc
    return web.json_response(device)


@routes.post("/api/devices/heartbeat")
@device_endpoint
async def device_heartbeat(request: web.Request) -> web.Response:
    await json_body(request)  # any JSON object; reserved for battery/firmware later
    me = principal_of(request)
    try:
        result = await devices.heartbeat(me.id, signature=request[signature_key],
                                         actor=me.actor)
    except Replayed:
        raise refuse(request, unauthorised("request already used (replay)"), "replay",
                     me.name) from None
    except AlarmError as exc:  # the device vanished between verification and now
        raise unauthorised(str(exc)) from exc
    return web.json_response({"ok": True, **result})
