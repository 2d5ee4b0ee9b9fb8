"""WHEP sessions: an SDP offer in, an H.264 passthrough peer connection out.

Two measured traps shape `open()`: the sending transceiver must exist with
H.264-only codec preferences *before* setRemoteDescription (made afterwards,
aiortc negotiates VP8 and Chromium decodes none of the H.264 it then gets), and
the RTCConfiguration names only the configured STUN/TURN servers
(streams/ice.py), never aiortc's default public one, which a control-room LAN
may not reach. Each configured STUN server is asked once per session while the
answer is made: an unreachable one delays every answer by up to 5 s (aioice's
gathering timeout).

A session that ends by itself (the peer closed, ICE failed, it never connected,
its wall was revoked) is remembered for a while, so the player's DELETE that
follows gets the same 200 as a DELETE of a live session, whichever came first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.sdp import SessionDescription

from streams.ice import IceServer
from streams.relay import CameraFeed
from streams.viewer import ViewerTrack

log = logging.getLogger("pantau.whep")

MAX_SESSIONS = 256  # 24 cameras x several walls and consoles, with room to spare
CONNECT_TIMEOUT = 20.0  # a session whose ICE never completes is reaped
ENDED_KEPT_S = 600.0  # how long an ended session's DELETE still answers 200
ENDED_KEPT_MAX = 4096


class WhepError(Exception):
    """The offer cannot be answered (no video, no H.264, too many sessions)."""

    def __init__(self, status: int, message: str, code: str = "whep_rejected") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class WhepSession:
    id: str
    camera_id: int
    pc: RTCPeerConnection
    track: ViewerTrack
    feed: CameraFeed
    token_id: int | None
    created: float = field(default_factory=time.monotonic)
    # The entity-tag of the session's ICE session (WHEP): PATCH is not supported,
    # so it never changes, but a player may match on it.
    etag: str = field(default_factory=lambda: f'"{secrets.token_urlsafe(12)}"')


@dataclass(frozen=True)
class EndedSession:
    """What is kept of a session after it ended, to answer a late DELETE."""

    token_id: int | None
    ended: float


def check_offer(offer_sdp: str) -> None:
    """WhepError unless the offer asks for video this server can send: H.264.

    The relay forwards the cameras' H.264 without decoding (DESIGN.md): a player
    that cannot take H.264 cannot be served at all, and is told so in words.
    """
    try:
        parsed = SessionDescription.parse(offer_sdp)
    except Exception as exc:  # aiortc's parser raises whatever the text trips
        raise WhepError(400, f"the offer is not a valid SDP: {exc}", "bad_offer") from None
    videos = [m for m in parsed.media if m.kind == "video"]
    if not videos:
        raise WhepError(400, "the offer has no video section: add a recvonly video "
                             "transceiver", "bad_offer")
    offered = [c.mimeType.split("/")[-1] for m in videos for c in m.rtp.codecs
               if c.mimeType.split("/")[-1].lower() not in ("rtx", "red", "ulpfec")]
    if not any(name.lower() == "h264" for name in offered):
        raise WhepError(422, "this server sends the cameras' H.264 as it is and cannot "
                             "transcode; the offer's video accepts only "
                             f"{', '.join(dict.fromkeys(offered)) or 'no codec'}: enable "
                             "H.264 in the player", "h264_required")


def h264_codecs() -> list[RTCRtpCodecCapability]:
    """aiortc's H.264 capabilities (and RTX for them), nothing else."""
    return [c for c in RTCRtpSender.getCapabilities("video").codecs
            if c.mimeType.lower() in ("video/h264", "video/rtx")]


class WhepSessions:
    """Every open WHEP session, closed on DELETE, ICE failure or shutdown."""

    def __init__(self, max_sessions: int = MAX_SESSIONS,
                 ice_servers: tuple[IceServer, ...] = ()) -> None:
        self.sessions: dict[str, WhepSession] = {}
        self.ended: OrderedDict[str, EndedSession] = OrderedDict()
        self.max_sessions = max_sessions
        self.ice_servers = ice_servers
        self._reaper: asyncio.Task[None] | None = None

    async def open(self, feed: CameraFeed, offer_sdp: str, *,
                   token_id: int | None = None) -> tuple[WhepSession, str]:
        """Answer `offer_sdp` with a session sending `feed`; returns the answer SDP."""
        if len(self.sessions) >= self.max_sessions:
            raise WhepError(503, "too many viewers on this server")
        check_offer(offer_sdp)
        pc = RTCPeerConnection(RTCConfiguration(
            iceServers=[server.for_aiortc() for server in self.ice_servers]))
        track = ViewerTrack(feed.config.id, maxsize=feed.settings.viewer_queue)
        session = WhepSession(secrets.token_urlsafe(16), feed.config.id, pc, track, feed,
                              token_id)
        try:
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(h264_codecs())
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            track.stop()
            await pc.close()
            raise WhepError(400, f"cannot answer this offer: {exc}", "bad_offer") from exc

        @pc.on("connectionstatechange")
        async def _state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close(session.id)

        self.sessions[session.id] = session
        feed.add_viewer(track)
        self._ensure_reaper()
        return session, pc.localDescription.sdp

    def find(self, session_id: str) -> WhepSession | EndedSession | None:
        """The live session, or what is left of one that ended lately, or None."""
        self._forget_ended()
        return self.sessions.get(session_id) or self.ended.get(session_id)

    def _forget_ended(self) -> None:
        horizon = time.monotonic() - ENDED_KEPT_S
        while self.ended and (len(self.ended) > ENDED_KEPT_MAX
                              or next(iter(self.ended.values())).ended < horizon):
            self.ended.popitem(last=False)

    async def close(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        self.ended[session_id] = EndedSession(session.token_id, time.monotonic())
        self._forget_ended()
        session.feed.remove_viewer(session.track)
        session.track.stop()
        with contextlib.suppress(Exception):
            await session.pc.close()
        return True

    async def close_for_token(self, token_id: int) -> int:
        """End every session opened with a (now revoked) credential."""
        ids = [s.id for s in self.sessions.values() if s.token_id == token_id]
        for sid in ids:
            await self.close(sid)
        return len(ids)

    async def close_all(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for sid in list(self.sessions):
            await self.close(sid)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap(), name="whep reaper")

    async def _reap(self) -> None:
        """Close sessions whose ICE never connected (the player went away early)."""
        while self.sessions:
            await asyncio.sleep(5)
            now = time.monotonic()
            for s in list(self.sessions.values()):
                if (s.pc.connectionState != "connected"
                        and now - s.created > CONNECT_TIMEOUT):
                    log.info("reaping WHEP session that never connected",
                             extra={"camera": s.camera_id})
                    await self.close(s.id)
