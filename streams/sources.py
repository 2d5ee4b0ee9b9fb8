"""Camera sources: one connection attempt each, yielding H.264 access units.

A source never decodes. RTSP and file sources demux with PyAV in a thread
(FFmpeg's network and file I/O block) and hand packets to the event loop through
a bounded queue; the synthetic source replays a clip encoded once. Reconnecting,
backoff and health belong to the relay, not here: `frames()` ends or raises and
the relay decides what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import av

from streams.h264 import (
    CLOCK_RATE,
    AccessUnit,
    avcc_extradata_to_annexb,
    is_annexb,
    parameter_sets,
    profile_of,
)

# Frames a demux thread may get ahead of the event loop; beyond this the loop is
# starved and dropping (the relay resyncs at the next keyframe) beats growing.
THREAD_QUEUE = 90


class SourceError(Exception):
    """A source failed in a way worth showing in the camera's health."""


class Source(Protocol):
    """One attempt to read a camera; `frames()` ends when the stream does."""

    description: str

    def frames(self) -> AsyncIterator[AccessUnit]: ...

    def parameter_sets(self) -> bytes: ...


def _to_ticks(pts: int, time_base: Fraction) -> int:
    return int(pts * time_base * CLOCK_RATE)


class _DemuxThread:
    """Runs a blocking demux loop in a thread, feeding a bounded asyncio queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[AccessUnit | BaseException | None] = asyncio.Queue(
            THREAD_QUEUE)
        self.stop = threading.Event()
        self.dropped = 0

    def put(self, item: AccessUnit | BaseException | None) -> None:
        """Called from the thread; never blocks it."""
        def offer() -> None:
            try:
                self.queue.put_nowait(item)
            except asyncio.QueueFull:
                if isinstance(item, AccessUnit):
                    self.dropped += 1
                else:  # an end or an error must get through: make room
                    self.queue.get_nowait()
                    self.queue.put_nowait(item)
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown
            self.loop.call_soon_threadsafe(offer)


class _PyAvSource:
    """Shared by RTSP and file sources: open, check the codec, demux in a thread."""

    description = "pyav"
    realtime_pacing = False
    loop_forever = False

    def __init__(self) -> None:
        self._params = b""

    def parameter_sets(self) -> bytes:
        return self._params

    def _open(self) -> Any:
        raise NotImplementedError

    def _check_stream(self, stream: Any) -> None:
        ctx = stream.codec_context
        if ctx.name != "h264":
            raise SourceError(f"unsupported codec {ctx.name}: passthrough needs H.264")
        extradata = bytes(ctx.extradata or b"")
        self._params = (parameter_sets(extradata) if is_annexb(extradata)
                        else avcc_extradata_to_annexb(extradata))
        if getattr(ctx, "has_b_frames", 0):
            raise SourceError("unsupported stream: B-frames (WebRTC needs decode order = "
                              "display order; set the camera to baseline profile)")

    def _demux(self, out: _DemuxThread) -> None:
        offset = 0  # ticks added on each loop of a file, so pts keeps rising
        started = time.monotonic()
        try:
            while not out.stop.is_set():
                container = self._open()
                try:
                    stream = container.streams.video[0]
                    self._check_stream(stream)
                    bsf = None
                    extradata = bytes(stream.codec_context.extradata or b"")
                    if extradata and not is_annexb(extradata):
                        bsf = av.bitstream.BitStreamFilterContext(
                            "h264_mp4toannexb", in_stream=stream)
                    last = offset
                    for packet in container.demux(stream):
                        if out.stop.is_set():
                            return
                        packets = bsf.filter(packet) if bsf is not None else [packet]
                        for p in packets:
                            if p.size == 0:
                                continue
                            if p.pts is not None and p.dts is not None and p.pts != p.dts:
                                raise SourceError("unsupported stream: B-frames (pts != dts)")
                            if p.pts is None:
                                pts = last + CLOCK_RATE // 15
                            else:
                                pts = offset + _to_ticks(p.pts - (stream.start_time or 0),
                                                         p.time_base or stream.time_base)
                            last = max(last, pts)
                            if self.realtime_pacing:
                                wait = started + pts / CLOCK_RATE - time.monotonic()
                                if wait > 0 and out.stop.wait(wait):
                                    return
                            out.put(AccessUnit(bytes(p), pts, bool(p.is_keyframe)))
                    if not self.loop_forever:
                        out.put(SourceError("stream ended"))
                        return
                    offset = last + CLOCK_RATE // 15
                finally:
                    container.close()
        except SourceError as exc:
            out.put(exc)
        except Exception as exc:  # FFmpeg errors come as many types
            out.put(SourceError(self.redact(f"{type(exc).__name__}: {exc}")))

    def redact(self, message: str) -> str:
        """Errors reach walls and the event log: never with the camera's password."""
        return message

    async def frames(self) -> AsyncIterator[AccessUnit]:
        out = _DemuxThread(asyncio.get_running_loop())
        thread = threading.Thread(target=self._demux, args=(out,), daemon=True,
                                  name=f"demux {self.description}")
        thread.start()
        try:
            while True:
                item = await out.queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            out.stop.set()
            # The thread notices the flag at its next packet or I/O timeout.
            await asyncio.to_thread(thread.join, 10)


class RtspSource(_PyAvSource):
    """An RTSP camera over TCP (UDP loses packets on busy links and through NAT)."""

    def __init__(self, url: str, *, open_timeout: float = 5.0, read_timeout: float = 3.0):
        super().__init__()
        self.url = url
        parts = urlsplit(url)
        host = parts.hostname or ""
        self.description = f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}" \
                           f"{parts.path}"  # never log credentials
        self.timeouts = (open_timeout, read_timeout)

    def redact(self, message: str) -> str:
        message = message.replace(self.url, self.description)
        parts = urlsplit(self.url)
        for secret in (parts.password, parts.username):
            if secret:
                message = message.replace(secret, "***")
        return message

    def _open(self) -> Any:
        return av.open(self.url, options={
            "rtsp_transport": "tcp",
            # Probe little: the SDP already names the codec, and a long probe is
            # seconds of black tile after every reconnect.
            "analyzeduration": "200000", "probesize": "65536", "fflags": "nobuffer",
        }, timeout=self.timeouts)


class FileSource(_PyAvSource):
    """A local file (MP4, MPEG-TS, MKV) played in real time and looped.

    Pacing and the pts offset per loop are ours: FFmpeg's readers go as fast as
    the disk, and restarting timestamps at 0 on each loop breaks the receiver.
    """

    realtime_pacing = True
    loop_forever = True

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self.description = Path(self.path).name
        if not Path(self.path).is_file():
            raise SourceError(f"no such file: {self.path}")

    def _open(self) -> Any:
        return av.open(self.path)


def source_for(kind: str, url: str, *, name: str = "", label: str = "",
               clip_cache: Path | None = None) -> Source:
    """The source for a camera row (`source_kind`, `source_url`); `clip_cache`:
    where synthetic cameras keep their encoded clips."""
    from streams.synthetic import SyntheticSource

    if kind == "rtsp":
        if not url.startswith(("rtsp://", "rtsps://")):
            raise SourceError(f"not an RTSP URL: {url!r}")
        return RtspSource(url)
    if kind == "file":
        path = urlsplit(url).path if url.startswith("file://") else url
        return FileSource(path)
    if kind == "synthetic":
        seed = url.removeprefix("synthetic://") or name
        return SyntheticSource(name or seed, label, seed=seed, cache=clip_cache)
    raise SourceError(f"unknown source kind {kind!r}")


__all__ = ["FileSource", "RtspSource", "Source", "SourceError", "profile_of", "source_for"]
