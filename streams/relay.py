"""The relay: one demux per camera, fanned out to its viewers without decoding.

Beyond what go2rtc and MediaMTX do, each camera keeps its last GOP so a new
viewer starts from the cached keyframe at once instead of waiting for the next
one (passthrough cannot honour the browser's keyframe requests). A source runs
only while someone watches (with a grace period so a page reload does not
reconnect the camera), reconnects with backoff, and a watchdog declares it
offline when frames stop. Health changes go to one callback, which the server
turns into events.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.h264 import CLOCK_RATE, AccessUnit, parameter_sets, profile_of, with_parameter_sets
from streams.health import Health
from streams.sources import Source, SourceError, source_for
from streams.viewer import MAX_BURST, ViewerTrack

log = logging.getLogger("pantau.streams")

MAX_GOP_FRAMES = MAX_BURST  # a camera with a longer GOP gets no cache


@dataclass(frozen=True)
class CameraConfig:
    """What the relay needs of a camera row."""

    id: int
    code: str
    name: str
    source_kind: str
    source_url: str
    label: str = ""

    def __post_init__(self) -> None:
        if self.source_kind not in ("rtsp", "file", "synthetic"):
            raise ValueError(f"unknown source kind {self.source_kind!r}")


@dataclass
class RelaySettings:
    offline_after: float = 3.0   # watchdog: seconds without a frame
    idle_grace: float = 5.0      # keep the source this long after the last viewer
    backoff_min: float = 0.25
    backoff_max: float = 2.0     # cameras come back quickly; retrying is one TCP connect
    viewer_queue: int = 30
    clip_cache: Path | None = None  # synthetic cameras' encoded clips (PANTAU_CLIP_CACHE)


HealthCallback = Callable[[int, Health, Health], None]
SourceFactory = Callable[[CameraConfig], Source]


def default_source(cam: CameraConfig, clip_cache: Path | None = None) -> Source:
    return source_for(cam.source_kind, cam.source_url, name=cam.name, label=cam.label,
                      clip_cache=clip_cache)


@dataclass
class _Rate:
    """Frames and bytes over the last two seconds."""

    window: float = 2.0
    samples: collections.deque[tuple[float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=600))

    def add(self, size: int, now: float) -> None:
        self.samples.append((now, size))

    def rates(self, now: float) -> tuple[float, int]:
        while self.samples and self.samples[0][0] < now - self.window:
            self.samples.popleft()
        if len(self.samples) < 2:
            return 0.0, 0
        span = max(now - self.samples[0][0], 1e-3)
        fps = (len(self.samples) - 1) / span
        bits = sum(s for _, s in self.samples) * 8 / span
        return round(fps, 1), int(bits)


class CameraFeed:
    """One camera: its source task, GOP cache, viewers and health."""

    def __init__(self, config: CameraConfig, settings: RelaySettings,
                 on_health: HealthCallback, make_source: SourceFactory = default_source):
        self.config = config
        self.settings = settings
        self._on_health = on_health
        self._make_source = make_source
        self.viewers: set[ViewerTrack] = set()
        self._holds = 0
        self.gop: list[AccessUnit] = []
        self.params = b""
        self.health = Health()
        self._rate = _Rate()
        self._task: asyncio.Task[None] | None = None
        self._stopper: asyncio.TimerHandle | None = None
        self._keyframe_waiters: list[asyncio.Future[AccessUnit]] = []
        self._last_out_pts = -1
        self._last_src_pts: int | None = None
        self._last_frame_mono = 0.0

    # -- viewers -------------------------------------------------------------------

    def add_viewer(self, track: ViewerTrack) -> None:
        """Attach a viewer; it starts from the cached GOP when there is one."""
        self.viewers.add(track)
        if self.gop:
            track.start_from(self.gop)
        self._in_use()

    def remove_viewer(self, track: ViewerTrack) -> None:
        self.viewers.discard(track)
        self._maybe_idle()

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Keep the source running without a viewer (snapshots)."""
        self._holds += 1
        self._in_use()
        try:
            yield
        finally:
            self._holds -= 1
            self._maybe_idle()

    async def next_keyframe(self, timeout: float) -> AccessUnit:
        """The cached keyframe, or the next one to arrive (within `timeout`)."""
        if self.gop:
            return self.gop[0]
        fut: asyncio.Future[AccessUnit] = asyncio.get_running_loop().create_future()
        self._keyframe_waiters.append(fut)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            with contextlib.suppress(ValueError):
                self._keyframe_waiters.remove(fut)

    @property
    def in_use(self) -> bool:
        return bool(self.viewers) or self._holds > 0

    def _in_use(self) -> None:
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"camera {self.config.code}")

    def _maybe_idle(self) -> None:
        if self.in_use or self._task is None or self._stopper is not None:
            return
        self._stopper = asyncio.get_running_loop().call_later(
            self.settings.idle_grace, self._idle_stop)

    def _idle_stop(self) -> None:
        self._stopper = None
        if not self.in_use and self._task is not None:
            self._task.cancel()

    async def close(self) -> None:
        if self._stopper is not None:
            self._stopper.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for track in list(self.viewers):
            track.stop()

    # -- the source loop -----------------------------------------------------------

    async def _run(self) -> None:
        backoff = self.settings.backoff_min
        watchdog = asyncio.create_task(self._watchdog())
        try:
            while True:
                self._set_health(state="connecting" if self.health.state in ("idle", "connecting")
                                 else self.health.state)
                got_frames = await self._read_once()
                if got_frames:
                    backoff = self.settings.backoff_min
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.settings.backoff_max)
        except asyncio.CancelledError:
            raise
        finally:
            watchdog.cancel()
            self.gop = []
            self._set_health(state="idle", online=False, fps=0.0, bitrate=0)

    async def _read_once(self) -> bool:
        """One connection: forward frames until it ends. True if any frame came."""
        got = False
        try:
            source = self._make_source(self.config)
            self.gop = []
            for track in self.viewers:
                track.restart()
            async for unit in source.frames():
                if not got:
                    got = True
                    self.params = source.parameter_sets() or self.params
                self._forward(unit)
            self._set_health(error="stream ended")
        except SourceError as exc:
            log.info("camera source failed", extra={"camera": self.config.code, "err": str(exc)})
            self._set_health(error=str(exc))
            if not got and self.health.state == "connecting":
                self._set_health(state="offline", online=False)
        except Exception as exc:  # a bug must not leave the camera dark for good
            log.exception("camera source crashed", extra={"camera": self.config.code})
            self._set_health(error=f"{type(exc).__name__}: {exc}")
        return got

    def _forward(self, unit: AccessUnit) -> None:
        now = time.monotonic()
        data = unit.data
        if unit.keyframe:
            found = parameter_sets(data)
            if found:
                self.params = found
            else:
                data = with_parameter_sets(data, self.params)
        pts = self._rebase(unit.pts, now)
        out = AccessUnit(data, pts, unit.keyframe, now)
        if out.keyframe:
            self.gop = [out]
            waiters, self._keyframe_waiters = self._keyframe_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(out)
        elif self.gop:
            if len(self.gop) < MAX_GOP_FRAMES:
                self.gop.append(out)
            else:
                self.gop = []
        for track in self.viewers:
            track.offer(out)
        self._last_frame_mono = now
        self._rate.add(len(data), now)
        if not self.health.online:
            self._set_health(state="online", online=True, error=None,
                             profile=profile_of(self.params))
        self.health.last_frame_at = time.time()

    def _rebase(self, src_pts: int, now: float) -> int:
        """A pts that always rises: sources restart at 0 after a reconnect."""
        if self._last_src_pts is None or self._last_out_pts < 0:
            out = max(self._last_out_pts + 1, 0)
        else:
            delta = src_pts - self._last_src_pts
            if delta <= 0 or delta > 5 * CLOCK_RATE:  # jumped: follow the wall clock
                delta = max(int((now - self._last_frame_mono) * CLOCK_RATE), 1)
            out = self._last_out_pts + delta
        self._last_src_pts = src_pts
        self._last_out_pts = out
        return out

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            fps, bitrate = self._rate.rates(now)
            self.health.fps, self.health.bitrate = fps, bitrate
            self.health.viewers = len(self.viewers)
            if self.health.online and now - self._last_frame_mono > self.settings.offline_after:
                self.gop = []
                self._set_health(state="offline", online=False, fps=0.0, bitrate=0,
                                 error=self.health.error or
                                 f"no frames for {self.settings.offline_after:g} s")

    def _set_health(self, **changes: Any) -> None:
        before = self.health.copy()
        for k, v in changes.items():
            setattr(self.health, k, v)
        self.health.viewers = len(self.viewers)
        if before.online != self.health.online or before.state != self.health.state:
            try:
                self._on_health(self.config.id, before, self.health.copy())
            except Exception:
                log.exception("health callback failed")


class Relay:
    """Every camera's feed, created on first use."""

    def __init__(self, settings: RelaySettings | None = None,
                 on_health: HealthCallback | None = None,
                 make_source: SourceFactory | None = None):
        self.settings = settings or RelaySettings()
        # Public so the owner can attach itself after building the relay.
        self.health_callback: HealthCallback = on_health or (lambda *_: None)
        clips = self.settings.clip_cache
        self._make_source = make_source or (lambda cam: default_source(cam, clips))
        self.feeds: dict[int, CameraFeed] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def configure(self, config: CameraConfig) -> CameraFeed:
        """The feed for a camera, replacing it when its source changed."""
        feed = self.feeds.get(config.id)
        if feed is not None and feed.config == config:
            return feed
        if feed is not None:
            # Source changed: viewers keep their tracks on the new feed.
            new = CameraFeed(config, self.settings, self._report, self._make_source)
            new.viewers = feed.viewers
            feed.viewers = set()
            closing = asyncio.get_running_loop().create_task(feed.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
            self.feeds[config.id] = new
            if new.viewers:
                new._in_use()
            return new
        feed = CameraFeed(config, self.settings, self._report, self._make_source)
        self.feeds[config.id] = feed
        return feed

    def _report(self, camera_id: int, before: Health, after: Health) -> None:
        self.health_callback(camera_id, before, after)

    def health(self) -> dict[int, Health]:
        return {cid: f.health for cid, f in self.feeds.items()}

    async def close(self) -> None:
        await asyncio.gather(*(f.close() for f in self.feeds.values()), return_exceptions=True)
