"""WHEP sessions: an SDP offer in, an H.264 passthrough peer connection out.

Two measured traps shape `open()`: the sending transceiver must exist with
H.264-only codec preferences *before* setRemoteDescription (made afterwards,
aiortc negotiates VP8 and Chromium decodes none of the H.264 it then gets), and
the RTCConfiguration names no STUN server (the default contacts a public one,
which a control-room LAN may not reach).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)

from streams.relay import CameraFeed
from streams.viewer import ViewerTrack

log = logging.getLogger("pantau.whep")

MAX_SESSIONS = 256  # 24 cameras x several walls and consoles, with room to spare
CONNECT_TIMEOUT = 20.0  # a session whose ICE never completes is reaped


class WhepError(Exception):
    """The offer cannot be answered (no video, no H.264, too many sessions)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class WhepSession:
    id: str
    camera_id: int
    pc: RTCPeerConnection
    track: ViewerTrack
    feed: CameraFeed
    token_id: int | None
    created: float = field(default_factory=time.monotonic)


def h264_codecs() -> list[RTCRtpCodecCapability]:
    """aiortc's H.264 capabilities (and RTX for them), nothing else."""
    return [c for c in RTCRtpSender.getCapabilities("video").codecs
            if c.mimeType.lower() in ("video/h264", "video/rtx")]


class WhepSessions:
    """Every open WHEP session, closed on DELETE, ICE failure or shutdown."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self.sessions: dict[str, WhepSession] = {}
        self.max_sessions = max_sessions
        self._reaper: asyncio.Task[None] | None = None

    async def open(self, feed: CameraFeed, offer_sdp: str, *,
                   token_id: int | None = None) -> tuple[WhepSession, str]:
        """Answer `offer_sdp` with a session sending `feed`; returns the answer SDP."""
        if len(self.sessions) >= self.max_sessions:
            raise WhepError(503, "too many viewers on this server")
        if "m=video" not in offer_sdp:
            raise WhepError(400, "the offer has no video section")
        if "h264" not in offer_sdp.lower():
            raise WhepError(400, "the offer does not accept H.264")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
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
            raise WhepError(400, f"cannot answer this offer: {exc}") from exc

        @pc.on("connectionstatechange")
        async def _state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close(session.id)

        self.sessions[session.id] = session
        feed.add_viewer(track)
        self._ensure_reaper()
        return session, pc.localDescription.sdp

    async def close(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
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
