"""One viewer's video track: a bounded queue that drops to the next keyframe.

aiortc's MediaRelay gives each viewer an unbounded queue, so one slow viewer
grows memory without limit. Here a viewer that falls `maxsize` frames behind
loses what it had queued and waits for the next keyframe: its picture skips,
nobody else notices.

Timestamps are the viewer's own. A new viewer is started from the cached GOP;
those frames are stamped 1 ms apart so the browser decodes through them at once
and then plays live frames at their real spacing, instead of replaying a whole
GOP late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from fractions import Fraction

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streams.h264 import CLOCK_RATE, AccessUnit

TIME_BASE = Fraction(1, CLOCK_RATE)
BURST_STEP = CLOCK_RATE // 1000  # 1 ms between cached frames of the start burst
DEFAULT_QUEUE = 30  # two seconds at 15 fps
MAX_BURST = 300  # the relay caches at most this many frames of a GOP


class ViewerTrack(MediaStreamTrack):
    """A video track fed by the relay with Annex-B access units (passthrough)."""

    kind = "video"

    def __init__(self, camera_id: int, *, maxsize: int = DEFAULT_QUEUE) -> None:
        super().__init__()
        self.camera_id = camera_id
        # Hard bound: live lag plus one start burst. The soft limit is what a viewer
        # may lag behind live before it drops to the next keyframe; it is raised by
        # the size of the start burst until the burst has been sent.
        self._queue: asyncio.Queue[tuple[bytes, int] | None] = asyncio.Queue(
            maxsize + MAX_BURST + 1)
        self._maxsize = maxsize
        self._limit = maxsize
        self._offset: int | None = None  # source pts -> this viewer's pts
        self._last_pts = -1
        self._need_keyframe = True
        self.sent = 0
        self.dropped = 0

    def start_from(self, gop: Sequence[AccessUnit]) -> None:
        """Queue the cached GOP (keyframe first) as a fast-start burst."""
        if not gop or not gop[0].keyframe or len(gop) > MAX_BURST:
            return  # no cache (or a GOP too long to replay): wait for the next keyframe
        usable = list(gop)
        self._limit = self._maxsize + len(usable)
        base = self._last_pts + BURST_STEP
        for i, unit in enumerate(usable):
            self._put(unit.data, base + i * BURST_STEP)
        self._offset = base + (len(usable) - 1) * BURST_STEP - usable[-1].pts
        self._need_keyframe = False

    def offer(self, unit: AccessUnit) -> None:
        """Called by the relay for each live access unit; never blocks."""
        if self._need_keyframe:
            if not unit.keyframe:
                return
            self._need_keyframe = False
        if self._offset is None:
            self._offset = self._last_pts + BURST_STEP - unit.pts
        pts = unit.pts + self._offset
        if pts <= self._last_pts:  # source jumped back (relay rebases; be safe)
            self._offset += self._last_pts + BURST_STEP - pts
            pts = self._last_pts + BURST_STEP
        if self._queue.qsize() >= self._limit:
            self._drop_to_next_keyframe()
            if not unit.keyframe:
                return
        self._put(unit.data, pts)

    def restart(self) -> None:
        """The source reconnected: wait for its first keyframe."""
        self._need_keyframe = True

    def _put(self, data: bytes, pts: int) -> None:
        self._queue.put_nowait((data, pts))
        self._last_pts = pts

    def _drop_to_next_keyframe(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
            self.dropped += 1
        self._limit = self._maxsize
        self._need_keyframe = True

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is None:
            raise MediaStreamError
        data, pts = item
        if self._limit > self._maxsize and self._queue.qsize() <= self._maxsize:
            self._limit = self._maxsize  # the start burst is out
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = TIME_BASE
        self.sent += 1
        return packet

    def stop(self) -> None:
        if self.readyState == "live":
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)
        super().stop()
