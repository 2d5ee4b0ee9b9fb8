"""Wall displays: the kiosk page, pairing, monitor layouts and the wall's status strip.

A kiosk that has no credential asks for a short pairing code and shows it; a
supervisor approves the code for a monitor (`pantau wall pair CODE --monitor
NAME`); the kiosk then claims a wall token once, kept as an HttpOnly cookie.
Revoking a monitor's walls ends their video at once (the relay closes their WHEP
sessions on the `monitor.wall_revoked` event) and the page stops on the same event.

Layouts and camera positions live in Postgres; every change is a
`monitor.updated` event, which walls follow over the event stream.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

import lang
from db import events as event_log
from db.models import Camera, Monitor, MonitorCamera, WallPairing
from server.auth import (
    ANY_OPERATOR,
    SUPERVISORS,
    forbidden,
    new_token,
    principal_of,
    public,
    requires,
    token_hash,
)
from server.board import wall_summary
from server.browser import set_session_cookie
from server.client_address import client_address
from server.errors import ApiError, bad_request, not_found
from server.keys import pool_key, settings_key
from server.ratelimit import Limited, Rule, address_key, limits_of, too_many
from server.routes.public_form import env as page_templates
from server.validation import Fields, json_body

routes = web.RouteTableDef()

PAIR_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read across a room
PAIR_CODE_LEN = 6
PAIRING_TTL = timedelta(minutes=15)
# The pairing endpoint is public. Each client address may ask for a few codes
# (PANTAU_RATE_PAIRING, server/ratelimit.py), so one address cannot crowd out the
# kiosks; this bounds the table against many addresses at once.
MAX_OPEN_PAIRINGS = 1000
WALL_TOKEN_TTL = timedelta(days=365)  # a kiosk keeps its credential until revoked
MAX_POSITION = 63
LAYOUT = re.compile(r"^([1-6])x([1-6])$")


class WallError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# -- rules (shared with `pantau wall ...`) ---------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(PAIR_ALPHABET) for _ in range(PAIR_CODE_LEN))


def normalise_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


async def create_pairing(requested_monitor: str = "", user_agent: str = "") -> tuple[
        str, str, datetime]:
    """A new pairing request: (code to show, claim secret for the kiosk, expiry)."""
    now = datetime.now(UTC)
    claim = secrets.token_urlsafe(32)
    async with in_transaction() as conn:
        await conn.execute_query(
            "DELETE FROM wall_pairings WHERE claimed_at IS NULL AND expires_at < now()")
        rows = await conn.execute_query_dict(
            "SELECT count(*) AS n FROM wall_pairings WHERE claimed_at IS NULL")
        if int(rows[0]["n"]) >= MAX_OPEN_PAIRINGS:
            raise WallError(429, "too many walls are waiting to be paired; try again later")
    for _ in range(10):
        code = _new_code()
        try:
            await WallPairing.create(code=code, claim_hash=token_hash(claim),
                                     requested_monitor=requested_monitor[:40],
                                     user_agent=user_agent[:300], expires_at=now + PAIRING_TTL)
            return code, claim, now + PAIRING_TTL
        except IntegrityError:
            continue
    raise WallError(503, "could not allocate a pairing code")


async def approve_pairing(code: str, monitor_code: str, actor: str) -> WallPairing:
    """Approve a shown code for a monitor; the kiosk claims its token next."""
    async with in_transaction() as conn:
        monitor = await Monitor.get_or_none(code=monitor_code, using_db=conn)
        if monitor is None:
            raise WallError(404, f"no monitor named {monitor_code!r}")
        pairing = await WallPairing.filter(
            code=normalise_code(code), claimed_at__isnull=True).using_db(conn) \
            .select_for_update().first()
        if pairing is None or pairing.expires_at < datetime.now(UTC):
            raise WallError(404, "no wall is showing that code (or it expired)")
        if pairing.approved_at is not None:
            raise WallError(409, "that code is already approved")
        pairing.monitor_id = monitor.id  # type: ignore[attr-defined]
        pairing.approved_at = datetime.now(UTC)
        pairing.approved_by = actor
        await pairing.save(using_db=conn)
        await event_log.append(conn, "monitor.wall_paired", "monitor", monitor.id, actor,
                               {"monitor": monitor.code, "pairing_id": pairing.id})
    return pairing


async def claim_pairing(claim: str) -> tuple[str, str] | None:
    """(wall token, monitor code) once approved, None while pending; once only."""
    async with in_transaction() as conn:
        pairing = await WallPairing.filter(claim_hash=token_hash(claim)).using_db(conn) \
            .select_for_update().first()
        if pairing is None or pairing.claimed_at is not None:
            raise WallError(410, "unknown or already used pairing")
        if pairing.approved_at is None:
            if pairing.expires_at < datetime.now(UTC):
                raise WallError(410, "the pairing code expired; ask for a new one")
            return None
        monitor = await Monitor.get(id=pairing.monitor_id).using_db(conn)  # type: ignore[attr-defined]
        token, digest = new_token()
        rows = await conn.execute_query_dict(
            "INSERT INTO auth_tokens (token_hash, kind, monitor_id, label, expires_at)"
            " VALUES ($1, 'wall', $2, $3, $4) RETURNING id",
            [digest, monitor.id, f"wall pairing {pairing.id}",
             datetime.now(UTC) + WALL_TOKEN_TTL])
        pairing.token_id = int(rows[0]["id"])
        pairing.claimed_at = datetime.now(UTC)
        await pairing.save(using_db=conn)
    return token, monitor.code


async def revoke_walls(monitor_code: str, actor: str) -> list[int]:
    """Revoke every wall credential of a monitor; returns the token ids revoked."""
    async with in_transaction() as conn:
        monitor = await Monitor.get_or_none(code=monitor_code, using_db=conn)
        if monitor is None:
            raise WallError(404, f"no monitor named {monitor_code!r}")
        rows = await conn.execute_query_dict(
            "UPDATE auth_tokens SET revoked_at = now() WHERE kind = 'wall'"
            " AND monitor_id = $1 AND revoked_at IS NULL RETURNING id", [monitor.id])
        ids = [int(r["id"]) for r in rows]
        if ids:
            await event_log.append(conn, "monitor.wall_revoked", "monitor", monitor.id, actor,
                                   {"monitor": monitor.code, "token_ids": ids})
    return ids


async def list_walls() -> list[dict[str, Any]]:
    rows = await WallPairing.all().order_by("-id").limit(200).prefetch_related("monitor")
    out = []
    for p in rows:
        state = "claimed" if p.claimed_at else "approved" if p.approved_at else (
            "expired" if p.expires_at < datetime.now(UTC) else "waiting")
        out.append({"id": p.id, "code": p.code, "state": state,
                    "monitor": p.monitor.code if p.monitor else p.requested_monitor or None,
                    "approved_by": p.approved_by, "token_id": p.token_id,
                    "created_at": p.created_at.isoformat()})
    return out


async def monitor_json(monitor: Monitor) -> dict[str, Any]:
    m = LAYOUT.match(monitor.layout)
    rows, cols = (int(m.group(1)), int(m.group(2))) if m else (2, 2)
    slots = await MonitorCamera.filter(monitor=monitor).order_by("position") \
        .prefetch_related("camera__district")
    return {
        "id": monitor.id, "code": monitor.code, "name": monitor.name,
        "layout": monitor.layout, "rows": rows, "cols": cols,
        "rotation_seconds": monitor.rotation_seconds, "show_alarms": monitor.show_alarms,
        "language": monitor.language,
        "slots": [{"position": s.position, "camera": {
            "id": s.camera.id, "code": s.camera.code, "name": s.camera.name,
            "district": s.camera.district.name if s.camera.district else None}}
            for s in slots if s.camera.enabled],
    }


async def set_slot(monitor_code: str, position: int, camera_id: int | None,
                   actor: str) -> Monitor:
    """Send a camera to a monitor position (None empties it); walls follow the event."""
    async with in_transaction() as conn:
        monitor = await Monitor.get_or_none(code=monitor_code, using_db=conn)
        if monitor is None:
            raise WallError(404, "monitor not found")
        await conn.execute_query("SELECT id FROM monitors WHERE id = $1 FOR UPDATE",
                                 [monitor.id])
        if camera_id is None:
            await MonitorCamera.filter(monitor=monitor, position=position).using_db(conn).delete()
        else:
            camera = await Camera.get_or_none(id=camera_id, enabled=True, using_db=conn)
            if camera is None:
                raise WallError(404, "camera not found")
            slot = await MonitorCamera.filter(monitor=monitor, position=position) \
                .using_db(conn).first()
            if slot is None:
                await MonitorCamera.create(monitor=monitor, camera=camera, position=position,
                                           using_db=conn)
            else:
                slot.camera = camera
                await slot.save(using_db=conn)
        await event_log.append(conn, "monitor.updated", "monitor", monitor.id, actor, {
            "monitor": monitor.code, "position": position, "camera_id": camera_id})
    return monitor


async def update_monitor(monitor_code: str, changes: dict[str, Any], actor: str) -> Monitor:
    async with in_transaction() as conn:
        monitor = await Monitor.filter(code=monitor_code).using_db(conn) \
            .select_for_update().first()
        if monitor is None:
            raise WallError(404, "monitor not found")
        for k, v in changes.items():
            setattr(monitor, k, v)
        await monitor.save(using_db=conn)
        await event_log.append(conn, "monitor.updated", "monitor", monitor.id, actor,
                               {"monitor": monitor.code, **changes})
    return monitor


# -- handlers ----------------------------------------------------------------------


def _raise(exc: WallError) -> ApiError:
    codes = {404: "not_found", 409: "conflict", 410: "gone", 429: "too_many_requests",
             503: "unavailable"}
    return ApiError(exc.status, codes.get(exc.status, "bad_request"), str(exc))


WALL_PLURALS = ("wall.alarms",)


@routes.get("/wall/{monitor}")
@public
async def wall_page(request: web.Request) -> web.Response:
    """The kiosk page. It holds no data: everything after it is authenticated. Its
    words are in the monitor's language from the first frame (a monitor's language
    is not secret: it is what the screen shows to the room)."""
    code = request.match_info["monitor"]
    if not re.fullmatch(r"[a-z0-9_-]{1,40}", code):
        raise not_found("monitor")
    language = await request.app[pool_key].fetchval(
        "SELECT language FROM monitors WHERE code = $1", code) or lang.DEFAULT
    html = page_templates.get_template("wall.html").render(
        lang=language, t=lang.section(language, "wall."), monitor=json.dumps(code))
    return web.Response(text=html, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


@routes.get("/api/wall/strings")
@public
async def wall_strings(request: web.Request) -> web.Response:
    """The wall page's words in one language (`?lang=id|en`), for what its script
    writes (tile states, the alarm count) and for a monitor whose language changes
    while the page is open. The page has no inline script, so they come from here."""
    language = lang.normalise(request.query.get("lang"))
    if language is None:
        raise bad_request("lang must be id or en", {"lang": "invalid"})
    return web.json_response(
        {"lang": language, "strings": lang.section(language, "wall."),
         "plurals": {key.removeprefix("wall."): lang.plural_forms(language, key)
                     for key in WALL_PLURALS}},
        headers={"Cache-Control": "no-cache"})


@routes.post("/api/wall/pairings")
@public
async def start_pairing(request: web.Request) -> web.Response:
    data = await json_body(request) if request.can_read_body else {}
    f = Fields(data)
    monitor = f.text("monitor", required=False, max_len=40)
    f.check()
    try:
        await limits_of(request).hit(Rule.PAIRING, address_key(client_address(request)))
    except Limited as exc:
        raise too_many(exc, "too many pairing codes asked for from this address") from exc
    try:
        code, claim, expires = await create_pairing(
            monitor, request.headers.get("User-Agent", ""))
    except WallError as exc:
        raise _raise(exc) from exc
    return web.json_response({"code": code, "claim": claim, "expires_at": expires.isoformat(),
                              "poll_seconds": 2}, status=201)


@routes.post("/api/wall/pairings/claim")
@public
async def claim(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    secret = f.text("claim", max_len=100)
    f.check()
    try:
        result = await claim_pairing(secret)
    except WallError as exc:
        raise _raise(exc) from exc
    if result is None:
        return web.json_response({"status": "pending"}, status=202)
    token, monitor = result
    resp = web.json_response({"status": "paired", "monitor": monitor})
    set_session_cookie(resp, request, token, int(WALL_TOKEN_TTL.total_seconds()))
    return resp


@routes.get("/api/wall/pairings")
@requires(SUPERVISORS)
async def pairings(request: web.Request) -> web.Response:
    """Waiting codes and paired walls, for the console's approval screen."""
    return web.json_response(await list_walls())


@routes.post("/api/wall/pairings/{code}/approve")
@requires(SUPERVISORS)
async def approve(request: web.Request) -> web.Response:
    """The console's `pantau wall pair CODE --monitor NAME`: {"monitor": "main"}."""
    f = Fields(await json_body(request))
    monitor = f.text("monitor", max_len=40)
    f.check()
    try:
        pairing = await approve_pairing(request.match_info["code"], monitor,
                                        principal_of(request).actor)
    except WallError as exc:
        raise _raise(exc) from exc
    return web.json_response({"code": pairing.code, "monitor": monitor, "state": "approved"})


@routes.post("/api/monitors/{code}/revoke-walls")
@requires(SUPERVISORS)
async def revoke(request: web.Request) -> web.Response:
    try:
        ids = await revoke_walls(request.match_info["code"], principal_of(request).actor)
    except WallError as exc:
        raise _raise(exc) from exc
    return web.json_response({"revoked": len(ids)})


@routes.get("/api/wall/me")
@requires(kinds=("wall",), cookie=True)
async def wall_me(request: web.Request) -> web.Response:
    p = principal_of(request)
    # The wall page's RTCPeerConnection uses the STUN/TURN servers WHEP announces.
    ice = [s.for_browser() for s in request.app[settings_key].ice_servers]
    return web.json_response({"monitor": p.name, "monitor_id": p.monitor_id,
                              "token_id": p.token_id, "ice_servers": ice})


async def _monitor_for(request: web.Request) -> Monitor:
    code = request.match_info["code"]
    p = principal_of(request)
    if p.kind == "wall" and p.name != code:
        raise forbidden("a wall may read only its own monitor")
    monitor = await Monitor.get_or_none(code=code)
    if monitor is None:
        raise not_found("monitor")
    return monitor


@routes.get("/api/monitors")
@requires(ANY_OPERATOR)
async def list_monitors(request: web.Request) -> web.Response:
    monitors = await Monitor.all().order_by("id")
    return web.json_response([await monitor_json(m) for m in monitors])


@routes.get("/api/monitors/{code}")
@requires(ANY_OPERATOR, kinds=("person", "wall"), cookie=True)
async def get_monitor(request: web.Request) -> web.Response:
    return web.json_response(await monitor_json(await _monitor_for(request)))


@routes.put("/api/monitors/{code}/slots/{position}")
@requires(ANY_OPERATOR)
async def put_slot(request: web.Request) -> web.Response:
    """Send a camera to a position of a monitor: {"camera_id": N} (null empties it)."""
    raw = request.match_info["position"]
    if not raw.isdigit() or int(raw) > MAX_POSITION:
        raise bad_request(f"position must be 0..{MAX_POSITION}", {"position": "out of range"})
    body = await json_body(request)
    camera_id = body.get("camera_id")
    if camera_id is not None and (not isinstance(camera_id, int) or isinstance(camera_id, bool)):
        raise bad_request("camera_id must be a number or null", {"camera_id": "not a number"})
    try:
        monitor = await set_slot(request.match_info["code"], int(raw), camera_id,
                                 principal_of(request).actor)
    except WallError as exc:
        raise _raise(exc) from exc
    return web.json_response(await monitor_json(monitor))


@routes.patch("/api/monitors/{code}")
@requires(SUPERVISORS)
async def patch_monitor(request: web.Request) -> web.Response:
    body = await json_body(request)
    changes: dict[str, Any] = {}
    if "layout" in body:
        if not isinstance(body["layout"], str) or not LAYOUT.match(body["layout"]):
            raise bad_request("layout must look like 2x2 (rows x columns, 1-6)",
                              {"layout": "invalid"})
        changes["layout"] = body["layout"]
    if "rotation_seconds" in body:
        v = body["rotation_seconds"]
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 3600:
            raise bad_request("rotation_seconds must be 0..3600", {"rotation_seconds": "invalid"})
        changes["rotation_seconds"] = v
    if "show_alarms" in body:
        f = Fields(body)
        changes["show_alarms"] = f.boolean("show_alarms")
        f.check()
    if "language" in body:
        if body["language"] not in lang.LANGUAGES:
            raise bad_request("language must be id or en", {"language": "invalid"})
        changes["language"] = body["language"]
    if not changes:
        raise bad_request("nothing to change")
    try:
        monitor = await update_monitor(request.match_info["code"], changes,
                                       principal_of(request).actor)
    except WallError as exc:
        raise _raise(exc) from exc
    return web.json_response(await monitor_json(monitor))


@routes.get("/api/wall/summary")
@requires(ANY_OPERATOR, kinds=("person", "wall"), cookie=True)
async def summary(request: web.Request) -> web.Response:
    return web.json_response(await wall_summary(request.app[pool_key]))
