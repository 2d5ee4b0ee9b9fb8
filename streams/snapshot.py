"""JPEG snapshots: one keyframe decoded at most every few seconds per camera.

For the console's thumbnails and ticket attachments. Decoding is the only place
streams/ touches pixels of a live camera, so it is rationed: concurrent requests
for a camera share one decode, and the result is cached for `max_age` seconds.
"""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass

import av

from streams.relay import CameraFeed

MAX_AGE = 3.0
KEYFRAME_WAIT = 8.0


class SnapshotError(Exception):
    """No picture could be had (camera offline, undecodable keyframe)."""


@dataclass(frozen=True)
class Snapshot:
    jpeg: bytes
    taken_at: float  # unix time
    width: int
    height: int


def decode_jpeg(annexb_keyframe: bytes, quality: int = 80) -> tuple[bytes, int, int]:
    """Decode one keyframe (SPS/PPS included) and encode it as JPEG with Pillow."""
    ctx = av.CodecContext.create("h264", "r")
    frames = list(ctx.decode(av.Packet(annexb_keyframe)))
    frames += list(ctx.decode(None))
    if not frames:
        raise SnapshotError("the keyframe did not decode")
    image = frames[0].to_image()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue(), image.width, image.height


class Snapshots:
    def __init__(self, max_age: float = MAX_AGE) -> None:
        self.max_age = max_age
        self._cache: dict[int, tuple[float, Snapshot]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def get(self, feed: CameraFeed) -> Snapshot:
        cid = feed.config.id
        lock = self._locks.setdefault(cid, asyncio.Lock())
        async with lock:
            cached = self._cache.get(cid)
            if cached and time.monotonic() - cached[0] < self.max_age:
                return cached[1]
            async with feed.hold():
                try:
                    unit = await feed.next_keyframe(KEYFRAME_WAIT)
                except TimeoutError as exc:
                    raise SnapshotError("the camera sent no picture") from exc
            jpeg, w, h = await asyncio.to_thread(decode_jpeg, unit.data)
            snap = Snapshot(jpeg, time.time(), w, h)
            self._cache[cid] = (time.monotonic(), snap)
            return snap
