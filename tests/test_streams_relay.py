"""The relay end to end: a real RTSP camera, the real server, an aiortc WHEP client."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from PIL import Image

from server.auth import issue_wall_token
from server.keys import pool_key, services_key
from tests.conftest import Api, next_event, start_app
from tests.rtsp_camera import RtspCamera, free_port

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def sapi(streams_server: TestServer) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(str(streams_server.make_url("")).rstrip("/"), session)


@pytest.fixture
def rtsp_camera() -> Iterator[RtspCamera]:
    cam = RtspCamera()
    cam.start()
    yield cam
    cam.stop()


async def point_camera_at(db_url: str, code: str, url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval(
            "UPDATE cameras SET source_kind = 'rtsp', source_url = $1 WHERE code = $2"
            " RETURNING id", url, code))
    finally:
        await conn.close()


class WhepViewer:
    """A WHEP client built on aiortc: offer, answer, then decoded frames."""

    def __init__(self, api: Api, camera_id: int, token: str, *,
                 trickle: bool = False) -> None:
        self.api, self.camera_id, self.token = api, camera_id, token
        self.trickle = trickle  # offer without candidates, as trickle-ICE players do
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.location = ""
        self.answer = ""
        self.answered_at = 0.0
        self._track: asyncio.Future[MediaStreamTrack] = \
            asyncio.get_running_loop().create_future()

    async def start(self) -> int:
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.on("track", lambda t: self._track.done() or self._track.set_result(t))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription.sdp
        if self.trickle:
            offer = "".join(line for line in offer.splitlines(keepends=True)
                            if not line.startswith(("a=candidate", "a=end-of-candidates")))
        async with self.api.session.post(
                f"{self.api.base}/whep/cameras/{self.camera_id}",
                data=offer,
                headers={"Content-Type": "application/sdp",
                         "Authorization": f"Bearer {self.token}"}) as resp:
            if resp.status != 201:
                return resp.status
            self.location = resp.headers["Location"]
            self.answer = await resp.text()
        self.answered_at = time.monotonic()
        await self.pc.setRemoteDescription(RTCSessionDescription(self.answer, "answer"))
        return 201

    async def frame(self, timeout: float = 10.0):  # type: ignore[no-untyped-def]
        track = await asyncio.wait_for(asyncio.shield(self._track), timeout)
        return await asyncio.wait_for(track.recv(), timeout)

    async def stop(self) -> int:
        status = 0
        if self.location:
            async with self.api.session.delete(
                    self.api.base + self.location,
                    headers={"Authorization": f"Bearer {self.token}"}) as resp:
                status = resp.status
        await self.pc.close()
        return status


async def camera_health(api: Api, token: str, camera_id: int) -> dict[str, object]:
    status, cams = await api.get("/api/cameras", token=token)
    assert status == 200
    return next(c["health"] for c in cams if c["id"] == camera_id)


async def test_cameras_list_and_watching_need_the_right_credential(
        sapi: Api, streams_server: TestServer) -> None:
    status, _ = await sapi.get("/api/cameras")
    assert status == 401
    operator = await sapi.login("operator")
    status, cams = await sapi.get("/api/cameras", token=operator)
    assert status == 200 and len(cams) == 24
    assert {"online", "fps", "bitrate", "last_frame_at", "error"} <= set(cams[0]["health"])
    assert "source_url" not in cams[0]

    wall_token, _ = await issue_wall_token(streams_server.app[pool_key], 1, timedelta(hours=1))
    status, cams = await sapi.get("/api/cameras", token=wall_token)
    assert status == 200 and len(cams) == 24

    # Department staff may list cameras but never watch them.
    staff = await sapi.login("dsdabm.staff")
    status, _ = await sapi.request("POST", "/whep/cameras/1", token=staff, data="v=0",
                                   headers={"Content-Type": "application/sdp"})
    assert status == 403
    status, _ = await sapi.get("/api/cameras/1/snapshot.jpg", token=staff)
    assert status == 403
    status, _ = await sapi.request("POST", "/whep/cameras/1", data="v=0",
                                   headers={"Content-Type": "application/sdp"})
    assert status == 401


async def test_rtsp_camera_is_relayed_as_h264_passthrough(
        sapi: Api, db_url: str, rtsp_camera: RtspCamera) -> None:
    cam_id = await point_camera_at(db_url, "simpang-dago", rtsp_camera.url)
    token = await sapi.login("operator")
    viewer = WhepViewer(sapi, cam_id, token)
    assert await viewer.start() == 201
    assert viewer.location.startswith("/whep/sessions/")
    assert "H264" in viewer.answer and "VP8" not in viewer.answer
    first = await viewer.frame(15)
    assert (first.width, first.height) == (640, 360)
    # The rate is counted on the frames' own timestamps (RTP clock), not the wall
    # clock: on a busy machine frames arrive in bursts, but none may be missing.
    start_pts, n, span = first.pts, 0, 0.0
    while span < 3.0:
        frame = await viewer.frame()
        n += 1
        span = float((frame.pts - start_pts) * frame.time_base)
    fps = n / span
    assert 12 <= fps <= 18, fps
    health = await camera_health(sapi, token, cam_id)
    assert health["online"] is True and health["profile"] == "constrained-baseline"
    assert 12 <= float(health["fps"]) <= 18  # type: ignore[arg-type]

    # The GOP cache: a second viewer gets a picture well before the next keyframe
    # (the camera sends one every 2 s).
    second = WhepViewer(sapi, cam_id, token)
    assert await second.start() == 201
    await second.frame()
    assert time.monotonic() - second.answered_at < 1.0
    assert await second.stop() == 200
    assert await viewer.stop() == 200
    status, _ = await sapi.request("DELETE", viewer.location, token=token)
    assert status == 200  # ended already: the same answer (tests/test_streams_whep.py)


async def test_first_connect_fails_then_camera_comes_up(
        sapi: Api, db_url: str) -> None:
    port = free_port()
    camera = RtspCamera(port)
    cam_id = await point_camera_at(db_url, "braga", camera.url)
    token = await sapi.login("operator")
    events = await sapi.ws(token=token)
    viewer = WhepViewer(sapi, cam_id, token)
    try:
        assert await viewer.start() == 201  # nothing listens yet: answered anyway
        offline = await next_event(events, "camera.offline", timeout=10)
        assert offline["subject"] == {"type": "camera", "id": str(cam_id)}
        assert offline["payload"]["error"] and offline["payload"]["code"] == "braga"
        camera.start()
        online = await next_event(events, "camera.online", timeout=10)
        assert online["subject"]["id"] == str(cam_id)
        frame = await viewer.frame(10)
        assert frame.width == 640
        # Stop the camera: the watchdog reports it offline; restart: it recovers.
        camera.stop()
        t0 = time.monotonic()
        await next_event(events, "camera.offline", timeout=8)
        assert time.monotonic() - t0 < 5
        camera.start()
        t0 = time.monotonic()
        await next_event(events, "camera.online", timeout=8)
        await viewer.frame(5)
        assert time.monotonic() - t0 < 5
    finally:
        await viewer.stop()
        await events.close()
        camera.stop()


async def test_an_offer_without_candidates_still_plays(sapi: Api) -> None:
    """Trickle-ICE WHEP players post their offer before gathering; we have no PATCH
    (405, as WHEP allows), and ICE still connects from the player's checks."""
    token = await sapi.login("operator")
    viewer = WhepViewer(sapi, 4, token, trickle=True)
    assert await viewer.start() == 201
    frame = await viewer.frame(15)
    assert frame.width == 640
    status, _ = await sapi.request("PATCH", viewer.location, token=token,
                                   headers={"Content-Type": "application/trickle-ice-sdpfrag"})
    assert status == 405
    assert await viewer.stop() == 200


async def test_snapshot_is_a_cached_jpeg(sapi: Api) -> None:
    token = await sapi.login("operator")
    async with sapi.session.get(f"{sapi.base}/api/cameras/2/snapshot.jpg",
                                headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200 and resp.content_type == "image/jpeg"
        taken = resp.headers["X-Snapshot-Taken-At"]
        img = Image.open(io.BytesIO(await resp.read()))
        assert img.size == (640, 360)
    async with sapi.session.get(f"{sapi.base}/api/cameras/2/snapshot.jpg",
                                headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.headers["X-Snapshot-Taken-At"] == taken  # served from the cache
    status, _ = await sapi.get("/api/cameras/999/snapshot.jpg", token=token)
    assert status == 404


async def test_synthetic_clips_are_prepared_before_anyone_watches(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streams import synthetic

    monkeypatch.setenv("PANTAU_CLIP_CACHE", str(tmp_path))
    synthetic.forget_clips()
    srv = await start_app(db_url, start_streams=True)
    try:
        for _ in range(600):
            if len(list(tmp_path.glob("*.clip"))) == 24:
                break
            await asyncio.sleep(0.1)
        assert len(list(tmp_path.glob("*.clip"))) == 24
        relay = srv.app[services_key]["streams"].relay
        assert not relay.feeds  # prepared, not started: sources wait for a viewer
    finally:
        await srv.close()
