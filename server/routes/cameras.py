"""Cameras: the list with health, WHEP playback, snapshots; and the relay's lifetime.

CCTV feeds are private: only operators and paired wall displays may watch or take
snapshots, and a wall only the cameras server/events/visibility.py gives it (its
monitor's, and an active alarm's nearest ones); when an alarm closes or a
monitor changes, a wall's video of a camera it may no longer watch ends.

Health changes (online/offline) become events, written by one task in order, so
the wall and the console learn of a dead camera from the event stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from tortoise.transactions import in_transaction

from db import events as event_log
from db.models import Camera
from server.auth import ANY_OPERATOR, forbidden, principal_of, requires
from server.errors import ApiError, bad_request, not_found
from server.events.visibility import wall_camera, wall_cameras
from server.keys import hub_key, pool_key, services_key, settings_key, streams_enabled_key
from streams.health import Health
from streams.relay import CameraConfig, CameraFeed, Relay, RelaySettings
from streams.snapshot import SnapshotError, Snapshots
from streams.whep import WhepError, WhepSessions

log = logging.getLogger("pantau.cameras")
routes = web.RouteTableDef()

ACTOR = "system:streams"
WATCHERS = ("person", "wall")
EVENT_QUEUE = 1000


@dataclass
class Streams:
    """The running relay and what hangs off it; in app[services_key]["streams"]."""

    relay: Relay
    sessions: WhepSessions = field(default_factory=WhepSessions)
    snapshots: Snapshots = field(default_factory=Snapshots)
    health_events: asyncio.Queue[tuple[int, str, dict[str, Any]]] = field(
        default_factory=lambda: asyncio.Queue(EVENT_QUEUE))

    def on_health(self, camera_id: int, before: Health, after: Health) -> None:
        kind = None
        if after.online and not before.online:
            kind = "camera.online"
        elif after.state == "offline" and before.state != "offline":
            kind = "camera.offline"
        if kind is None:
            return
        feed = self.relay.feeds.get(camera_id)
        payload = {"state": after.state, "error": after.error, "profile": after.profile,
                   "code": feed.config.code if feed else None,
                   "name": feed.config.name if feed else None}
        try:
            self.health_events.put_nowait((camera_id, kind, payload))
        except asyncio.QueueFull:
            log.warning("camera health events backed up; dropping one",
                        extra={"camera": camera_id, "kind": kind})

    async def write_events(self) -> None:
        """One writer, so a camera's online/offline events keep their order."""
        while True:
            camera_id, kind, payload = await self.health_events.get()
            try:
                async with in_transaction() as conn:
                    await event_log.append(conn, kind, "camera", camera_id, ACTOR, payload)
            except Exception:
                log.exception("could not record camera health", extra={"camera": camera_id})

    async def feed(self, camera_id: int) -> CameraFeed:
        """The feed of an enabled camera, configured from its row."""
        cam = await Camera.get_or_none(id=camera_id, enabled=True).prefetch_related("district")
        if cam is None:
            raise not_found("camera")
        return self.relay.configure(camera_config(cam))


def camera_config(cam: Camera) -> CameraConfig:
    label = cam.district.name if cam.district else ""
    return CameraConfig(cam.id, cam.code, cam.name, cam.source_kind, cam.source_url, label)


def relay_settings(app: web.Application) -> RelaySettings:
    return RelaySettings(clip_cache=app[settings_key].clip_cache)


async def streams_ctx(app: web.Application) -> AsyncIterator[None]:
    """The camera relay's lifetime (skipped when create_app(start_streams=False))."""
    if not app[streams_enabled_key]:
        yield
        return
    streams = Streams(Relay(relay_settings(app)),
                      WhepSessions(ice_servers=app[settings_key].ice_servers))
    streams.relay.health_callback = streams.on_health
    app[services_key]["streams"] = streams
    writer = asyncio.create_task(streams.write_events(), name="camera health events")
    revocations = asyncio.create_task(_end_revoked_sessions(app, streams),
                                      name="wall revocations")
    warm = asyncio.create_task(_prepare_synthetic_clips(app[settings_key].clip_cache),
                               name="synthetic clips")
    yield
    warm.cancel()
    revocations.cancel()
    await streams.sessions.close_all()
    await streams.relay.close()
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer
    app[services_key].pop("streams", None)


# Events after which a wall may have lost a camera (or its credential).
_PERMISSION_EVENTS = ("monitor.wall_revoked", "monitor.updated", "alarm.resolved",
                      "alarm.false_alarm")


async def _end_revoked_sessions(app: web.Application, streams: Streams) -> None:
    """A revoked wall's video stops at once, whichever process revoked it; so does a
    wall's video of a camera it may no longer watch (an alarm closed, a monitor
    changed)."""
    hub = app[hub_key]
    while True:
        sub = hub.subscribe(lambda e: e.kind in _PERMISSION_EVENTS, 100)
        try:
            while (event := await sub.queue.get()) is not None:
                for token_id in event.payload.get("token_ids", []):
                    ended = await streams.sessions.close_for_token(int(token_id))
                    if ended:
                        log.info("ended revoked wall's video",
                                 extra={"token_id": token_id, "sessions": ended})
                if event.kind != "monitor.wall_revoked":
                    await _end_unpermitted(app, streams)
        except Exception:
            log.exception("could not check walls' video against their permissions")
        finally:
            hub.unsubscribe(sub)
        await asyncio.sleep(1)  # the hub stopped or we lagged: subscribe again


async def _end_unpermitted(app: web.Application, streams: Streams) -> None:
    sessions = [s for s in streams.sessions.sessions.values() if s.token_id is not None]
    if not sessions:
        return
    pool = app[pool_key]
    walls = {r["id"]: r["monitor_id"] for r in await pool.fetch(
        "SELECT id, monitor_id FROM auth_tokens WHERE kind = 'wall' AND id = ANY($1::bigint[])",
        list({s.token_id for s in sessions}))}
    allowed = await wall_cameras(pool, set(walls.values()))
    for s in sessions:
        if s.token_id in walls and s.camera_id not in allowed[walls[s.token_id]]:
            await streams.sessions.close(s.id)
            log.info("ended a wall's video of a camera it may no longer watch",
                     extra={"token_id": s.token_id, "camera": s.camera_id})


async def _prepare_synthetic_clips(cache: Path | None) -> None:
    """Encode (or load from the clip cache) every synthetic camera's clip in the
    background, one at a time, so the first wall to open does not wait for 24
    encodes at once. Sources still start only when someone watches."""
    from streams.synthetic import encode_clip

    cams = await Camera.filter(enabled=True, source_kind="synthetic").order_by("id") \
        .prefetch_related("district")
    for cam in cams:
        cfg = camera_config(cam)
        seed = cfg.source_url.removeprefix("synthetic://") or cfg.name
        try:
            await asyncio.to_thread(encode_clip, cfg.name, cfg.label, seed, cache)
        except Exception:
            log.exception("could not prepare a synthetic camera", extra={"camera": cfg.code})


def streams_of(request: web.Request) -> Streams:
    streams = request.app[services_key].get("streams")
    if streams is None:
        raise ApiError(503, "streams_unavailable", "the camera relay is not running here")
    return streams  # type: ignore[no-any-return]


def _camera_id(request: web.Request) -> int:
    raw = request.match_info["camera_id"]
    if not raw.isdigit():
        raise bad_request("camera id must be a number", {"camera_id": "not a number"})
    return int(raw)


def camera_json(cam: Camera, health: Health | None) -> dict[str, Any]:
    return {
        "id": cam.id, "code": cam.code, "name": cam.name,
        "district": cam.district.name if cam.district else None,
        "lat": cam.lat, "lon": cam.lon, "source_kind": cam.source_kind,
        "enabled": cam.enabled,
        "health": (health or Health()).to_json(),
        "whep": f"/whep/cameras/{cam.id}",
        "snapshot": f"/api/cameras/{cam.id}/snapshot.jpg",
    }


@routes.get("/api/cameras")
@requires(kinds=WATCHERS, cookie=True)
async def list_cameras(request: web.Request) -> web.Response:
    cams = await Camera.all().order_by("id").prefetch_related("district")
    streams = request.app[services_key].get("streams")
    health = streams.relay.health() if streams is not None else {}
    listed = [camera_json(c, health.get(c.id)) for c in cams]
    me = principal_of(request)
    if me.kind == "wall":
        assert me.monitor_id is not None
        allowed = (await wall_cameras(request.app[pool_key], [me.monitor_id]))[me.monitor_id]
        listed = [wall_camera(c) for c in listed if c["id"] in allowed]
    return web.json_response(listed)


async def _may_watch(request: web.Request) -> int:
    """The requested camera's id; 403 for a wall that may not watch it."""
    camera_id = _camera_id(request)
    me = principal_of(request)
    if me.kind == "wall":
        assert me.monitor_id is not None
        if camera_id not in (await wall_cameras(request.app[pool_key],
                                                [me.monitor_id]))[me.monitor_id]:
            raise forbidden("a wall may watch only its monitor's cameras and, while an alarm "
                            "is active, its nearest cameras")
    return camera_id


@routes.post("/whep/cameras/{camera_id}")
@requires(ANY_OPERATOR, kinds=WATCHERS, cookie=True)
async def whep_offer(request: web.Request) -> web.Response:
    """WHEP: an SDP offer in, 201 with the answer and the session's Location out."""
    if request.content_type != "application/sdp":
        raise ApiError(415, "unsupported_media_type", "send the offer as application/sdp")
    offer = await request.text()
    if len(offer) > 64 * 1024:
        raise bad_request("offer too large")
    camera_id = await _may_watch(request)
    streams = streams_of(request)
    feed = await streams.feed(camera_id)
    try:
        session, answer = await streams.sessions.open(
            feed, offer, token_id=principal_of(request).token_id)
    except WhepError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from exc
    response = web.Response(status=201, text=answer, content_type="application/sdp",
                            headers={"Location": f"/whep/sessions/{session.id}",
                                     "ETag": session.etag})
    # The WHEP draft's way to hand a player the STUN/TURN servers (CORS exposes
    # Location, Link and ETag to players on allowed origins: server/cors.py).
    for server in streams.sessions.ice_servers:
        for link in server.link_headers():
            response.headers.add("Link", link)
    return response


@routes.delete("/whep/sessions/{session_id}")
@requires(ANY_OPERATOR, kinds=WATCHERS, cookie=True)
async def whep_delete(request: web.Request) -> web.Response:
    """End a session: 200, also when it has already ended by itself (the peer
    closed, ICE failed) within the last 10 minutes, or was deleted before; 404 for
    an id this server never gave out (or forgot)."""
    streams = streams_of(request)
    sid = request.match_info["session_id"]
    session = streams.sessions.find(sid)
    if session is None:
        raise not_found("session")
    caller = principal_of(request)
    if session.token_id is not None and caller.token_id != session.token_id \
            and not caller.is_operator:
        raise ApiError(403, "forbidden", "not your session")
    await streams.sessions.close(sid)
    return web.Response(status=200)


@routes.patch("/whep/sessions/{session_id}")
@requires(ANY_OPERATOR, kinds=WATCHERS, cookie=True)
async def whep_patch(request: web.Request) -> web.Response:
    """Trickle ICE and ICE restarts are not supported: 405 with Allow, as WHEP
    permits. A trickling player still connects: its connectivity checks teach the
    server its address (peer-reflexive candidates). An explicit route rather than
    aiohttp's own 405 so that CORS headers reach a player on another origin."""
    raise ApiError(405, "method_not_allowed", "this WHEP server does not support trickle "
                   "ICE or ICE restarts (PATCH); send every candidate in the offer",
                   headers={"Allow": "DELETE, OPTIONS"})


@routes.get("/api/cameras/{camera_id}/snapshot.jpg")
@requires(ANY_OPERATOR, kinds=WATCHERS, cookie=True)
async def snapshot(request: web.Request) -> web.Response:
    camera_id = await _may_watch(request)
    streams = streams_of(request)
    feed = await streams.feed(camera_id)
    try:
        snap = await streams.snapshots.get(feed)
    except SnapshotError as exc:
        raise ApiError(503, "camera_offline", str(exc), headers={"Retry-After": "3"}) from exc
    return web.Response(body=snap.jpeg, content_type="image/jpeg", headers={
        "Cache-Control": "private, max-age=2",
        "X-Snapshot-Taken-At": f"{snap.taken_at:.3f}"})
