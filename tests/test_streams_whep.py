"""WHEP's protocol edges: STUN/TURN announced and used, the session's ETag, PATCH,
DELETE after the peer closed, and an offer without H.264 told why."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aioice import stun
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver

from server.auth import issue_wall_token
from server.keys import pool_key, services_key, settings_key
from streams.ice import IceConfigError, IceServer, parse_ice_servers
from tests.conftest import Api, start_app
from tests.test_streams_relay import WhepViewer

pytestmark = pytest.mark.timeout(90)


class StunServer(asyncio.DatagramProtocol):
    """A STUN server that answers Binding requests (RFC 5389) and counts them."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, int]] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport  # uvloop's, not an asyncio.DatagramTransport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = stun.parse_message(data)
        if message.message_method != stun.Method.BINDING:
            return
        self.requests.append(addr)
        reply = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE,
                             transaction_id=message.transaction_id)
        reply.attributes["XOR-MAPPED-ADDRESS"] = addr
        assert self.transport is not None
        self.transport.sendto(bytes(reply), addr)


@pytest.fixture
async def stun_server() -> AsyncIterator[tuple[StunServer, int]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        StunServer, local_addr=("127.0.0.1", 0))
    yield protocol, transport.get_extra_info("sockname")[1]
    transport.close()


@pytest.fixture
async def wapi(db_url: str, stun_server: tuple[StunServer, int]
               ) -> AsyncIterator[tuple[Api, web.Application]]:
    """The server with the relay running and a STUN server configured."""
    _, port = stun_server

    def configure(app: web.Application) -> None:
        app[settings_key] = app[settings_key].model_copy(
            update={"ice_servers": (IceServer((f"stun:127.0.0.1:{port}",)),)})

    srv = await start_app(db_url, start_streams=True, prepare=configure)
    async with aiohttp.ClientSession() as session:
        yield Api(str(srv.make_url("")).rstrip("/"), session), srv.app
    await srv.close()


def test_ice_server_setting_in_both_shapes() -> None:
    assert parse_ice_servers("") == ()
    assert parse_ice_servers("stun:a.example:3478, stun:b.example") == (
        IceServer(("stun:a.example:3478",)), IceServer(("stun:b.example",)))
    turn = parse_ice_servers('[{"urls": ["turn:t.example:3478?transport=udp", '
                             '"turns:t.example:5349"], "username": "wall", '
                             '"credential": "s3cret"}, {"urls": "stun:s.example"}]')
    assert turn[0].link_headers() == [
        '<turn:t.example:3478?transport=udp>; rel="ice-server"; username="wall"; '
        'credential="s3cret"; credential-type="password"',
        '<turns:t.example:5349>; rel="ice-server"; username="wall"; credential="s3cret"; '
        'credential-type="password"']
    assert turn[1].for_browser() == {"urls": ["stun:s.example"]}
    for bad in ("http://stun.example", "turn:t.example", '[{"urls": "stun:x", "u": 1}]',
                '[{"urls": "turn:t", "username": "a\\"b", "credential": "c"}]',
                '{"urls": "stun:x"}', "[not json", '[{"urls": []}]',
                '[{"urls": "stun:x", "username": "only"}]', "stun:a>b"):
        with pytest.raises(IceConfigError):
            parse_ice_servers(bad)


async def test_stun_servers_are_announced_and_used_by_the_answerer(
        wapi: tuple[Api, web.Application], stun_server: tuple[StunServer, int]) -> None:
    stun_protocol, port = stun_server
    api, app = wapi
    token = await api.login("operator")
    viewer = WhepViewer(api, 4, token)
    try:
        async with api.session.post(
                f"{api.base}/whep/cameras/4", data=await _offer(viewer.pc),
                headers={"Content-Type": "application/sdp",
                         "Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 201, await resp.text()
            links = resp.headers.getall("Link")
            etag = resp.headers["ETag"]
            answer = await resp.text()
            location = resp.headers["Location"]
        assert links == [f'<stun:127.0.0.1:{port}>; rel="ice-server"']
        assert etag.startswith('"') and etag.endswith('"') and len(etag) > 8
        # aiortc's answerer asked our STUN server: a server-reflexive candidate.
        assert stun_protocol.requests and " typ srflx " in answer
        status, body = await api.request("PATCH", location, token=token, headers={
            "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": etag},
            data="a=ice-ufrag:x\r\na=ice-pwd:y\r\n")
        assert status == 405 and "trickle" in body["message"]
        async with api.session.patch(api.base + location,
                                      headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.headers["Allow"] == "DELETE, OPTIONS"
        # The wall page gets the same servers for its RTCPeerConnection.
        wall = await _wall_token(app)
        status, me = await api.get("/api/wall/me", token=wall)
        assert status == 200 and me["ice_servers"] == [{"urls": [f"stun:127.0.0.1:{port}"]}]
        status, _ = await api.request("DELETE", location, token=token)
        assert status == 200
    finally:
        await viewer.pc.close()


async def _offer(pc: RTCPeerConnection) -> str:
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return str(pc.localDescription.sdp)


async def _wall_token(app: web.Application) -> str:
    pool = app[pool_key]
    monitor_id = await pool.fetchval("SELECT id FROM monitors WHERE code = 'pusat-kota'")
    token, _ = await issue_wall_token(pool, monitor_id, timedelta(hours=1))
    return token


async def test_delete_after_the_peer_closed_answers_like_any_delete(
        sapi_with_app: tuple[Api, web.Application]) -> None:
    """200 whether the server noticed the player leave before the DELETE or not;
    200 again for a second DELETE; 404 for an id never given out."""
    api, app = sapi_with_app
    token = await api.login("operator")
    viewer = WhepViewer(api, 4, token)
    assert await viewer.start() == 201
    await viewer.frame(15)
    sid = viewer.location.rsplit("/", 1)[-1]
    sessions = app[services_key]["streams"].sessions
    await viewer.pc.close()  # the player goes away without a DELETE
    t0 = time.monotonic()
    while sid in sessions.sessions:  # the server notices by itself (DTLS close)
        assert time.monotonic() - t0 < 40, "the server never noticed the peer close"
        await asyncio.sleep(0.1)
    status, _ = await api.request("DELETE", viewer.location, token=token)
    assert status == 200
    status, _ = await api.request("DELETE", viewer.location, token=token)
    assert status == 200
    status, body = await api.request("DELETE", "/whep/sessions/never-given-out", token=token)
    assert status == 404 and body["error"] == "not_found"


async def test_a_player_without_h264_is_told_so(
        sapi_with_app: tuple[Api, web.Application]) -> None:
    api, _ = sapi_with_app
    token = await api.login("operator")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        transceiver = pc.addTransceiver("video", direction="recvonly")
        transceiver.setCodecPreferences([
            c for c in RTCRtpReceiver.getCapabilities("video").codecs  # type: ignore[union-attr]
            if c.mimeType.lower() in ("video/vp8", "video/rtx")])
        await pc.setLocalDescription(await pc.createOffer())
        status, body = await api.request(
            "POST", "/whep/cameras/4", token=token, data=pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp"})
    finally:
        await pc.close()
    assert status == 422 and body["error"] == "h264_required", body
    assert "H.264" in body["message"] and "VP8" in body["message"]
    audio_only = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" \
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
    for offer, code in ((audio_only, "bad_offer"), ("not an sdp at all", "bad_offer"),
                        ("v=0\r\nm=video 9 X 96\r\na=rtpmap:96 H264/90000\r\n", "bad_offer")):
        status, body = await api.request("POST", "/whep/cameras/4", token=token, data=offer,
                                         headers={"Content-Type": "application/sdp"})
        assert status == 400 and body["error"] == code, (offer, body)


@pytest.fixture
async def sapi_with_app(streams_server: Any) -> AsyncIterator[tuple[Api, web.Application]]:
    async with aiohttp.ClientSession() as session:
        yield Api(str(streams_server.make_url("")).rstrip("/"), session), streams_server.app
