"""Synthetic cameras for the demo: drawn with Pillow, encoded once, replayed paced.

Encoding 24 live pictures would cost what passthrough saves, so each camera's
clip (its name, a sweeping clock hand, moving shapes) is encoded once to
baseline H.264 with a short GOP and then replayed forever with rising
timestamps. Everything in the clip is periodic in its length, so the loop is
seamless.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import struct
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

from streams.h264 import CLOCK_RATE, AccessUnit, parameter_sets

log = logging.getLogger("pantau.streams")

WIDTH, HEIGHT = 640, 360
FPS = 15
LOOP_SECONDS = 4
GOP = FPS  # a keyframe every second: a new viewer never waits long


@dataclass(frozen=True)
class Clip:
    units: tuple[AccessUnit, ...]
    duration: int  # ticks
    params: bytes


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _draw(name: str, label: str, seed: str, i: int, n: int) -> Image.Image:
    digest = hashlib.sha256(seed.encode()).digest()
    base = (digest[0] // 3 + 20, digest[1] // 3 + 30, digest[2] // 3 + 40)
    img = Image.new("RGB", (WIDTH, HEIGHT), base)
    d = ImageDraw.Draw(img)
    phase = 2 * math.pi * i / n
    # a road: lanes scrolling past
    d.rectangle((0, 200, WIDTH, 300), fill=(50, 50, 55))
    for k in range(-1, 9):
        x = int(k * 80 + (i * 80 * 2 / n) % 80)
        d.rectangle((x, 247, x + 40, 253), fill=(230, 230, 210))
    # "vehicles" on periodic paths
    for k in range(3):
        x = int((WIDTH + 120) * ((i / n + k / 3 + digest[3 + k] / 255) % 1.0)) - 60
        y = 210 + 30 * k
        colour = (digest[6 + k], 255 - digest[9 + k], 120)
        d.rounded_rectangle((x, y, x + 60, y + 24), radius=6, fill=colour)
    cx = int(WIDTH / 2 + 180 * math.sin(phase * 2))
    cy = int(110 + 50 * math.sin(phase))
    d.ellipse((cx - 22, cy - 22, cx + 22, cy + 22), fill=(240, 190, 40))
    # a clock whose hand turns once per loop
    ox, oy, r = WIDTH - 60, 60, 38
    d.ellipse((ox - r, oy - r, ox + r, oy + r), outline=(255, 255, 255), width=3)
    d.line((ox, oy, ox + int(r * 0.9 * math.sin(phase)), oy - int(r * 0.9 * math.cos(phase))),
           fill=(255, 80, 80), width=4)
    d.text((16, 14), name, font=_font(28), fill=(255, 255, 255))
    d.text((16, 50), label or "synthetic camera", font=_font(18), fill=(220, 220, 220))
    d.text((16, HEIGHT - 34), f"SIM  {i // FPS:02d}.{i % FPS:02d}", font=_font(18),
           fill=(255, 255, 255))
    return img


_clips: dict[tuple[str, str, str], Clip] = {}
_clip_lock = threading.Lock()
CLIP_FORMAT = 1  # bump when drawing or encoding changes, so old cached clips are ignored
_UNIT_HEADER = struct.Struct(">IQB")  # length, pts, keyframe


def default_clip_cache() -> Path:
    """Where encoded clips are kept between runs unless PANTAU_CLIP_CACHE (the
    server's `clip_cache` setting, handed down) moves them."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pantau" / "clips"


def _cache_path(name: str, label: str, seed: str, cache: Path | None) -> Path:
    digest = hashlib.sha256(
        f"{CLIP_FORMAT}|{WIDTH}x{HEIGHT}@{FPS}|{LOOP_SECONDS}|{name}|{label}|{seed}".encode())
    return (cache or default_clip_cache()) / f"{digest.hexdigest()[:32]}.clip"


def _load_cached(path: Path) -> Clip | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    units: list[AccessUnit] = []
    pos = 0
    try:
        while pos < len(raw):
            size, pts, key = _UNIT_HEADER.unpack_from(raw, pos)
            pos += _UNIT_HEADER.size
            units.append(AccessUnit(raw[pos:pos + size], pts, bool(key)))
            pos += size
    except (struct.error, ValueError):
        return None
    if not units or not units[0].keyframe:
        return None
    tick = CLOCK_RATE // FPS
    return Clip(tuple(units), FPS * LOOP_SECONDS * tick, parameter_sets(units[0].data))


def _store(path: Path, clip: Clip) -> None:
    """Best effort: a read-only home only costs the encode next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(b"".join(_UNIT_HEADER.pack(len(u.data), u.pts, u.keyframe) + u.data
                                 for u in clip.units))
        tmp.replace(path)
    except OSError as exc:
        log.info("clip cache not writable; will encode again next time",
                 extra={"path": str(path), "err": str(exc)})


def forget_clips() -> None:
    """Drop the in-memory clips, so the next request loads or encodes them again."""
    with _clip_lock:
        _clips.clear()


def encode_clip(name: str, label: str, seed: str, cache: Path | None = None) -> Clip:
    """Draw and encode one camera's loop, or load it from the clip cache.

    Encoding costs ~0.3 s of CPU per camera; 24 cameras starting together on two
    cores would keep a wall black for seconds on every server start, so clips are
    cached on disk as well as in memory (in `cache`, default_clip_cache() if None).
    """
    key = (name, label, seed)
    with _clip_lock:
        if key in _clips:
            return _clips[key]
        path = _cache_path(name, label, seed, cache)
        cached = _load_cached(path)
        if cached is not None:
            _clips[key] = cached
            return cached
        n = FPS * LOOP_SECONDS
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        ctx.time_base = Fraction(1, FPS)
        ctx.framerate = Fraction(FPS, 1)
        ctx.bit_rate = 500_000
        ctx.gop_size = GOP
        ctx.max_b_frames = 0
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline",
                       "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0:"
                                      "repeat-headers=1"}
        units: list[AccessUnit] = []
        tick = CLOCK_RATE // FPS
        for i in range(n):
            frame = av.VideoFrame.from_image(_draw(name, label, seed, i, n)).reformat(
                format="yuv420p")
            frame.pts = i
            for p in ctx.encode(frame):
                units.append(AccessUnit(bytes(p), int(p.pts or 0) * tick, bool(p.is_keyframe)))
        for p in ctx.encode(None):
            units.append(AccessUnit(bytes(p), int(p.pts or 0) * tick, bool(p.is_keyframe)))
        if not units or not units[0].keyframe:
            raise RuntimeError("the synthetic clip must start with a keyframe")
        clip = Clip(tuple(units), n * tick, parameter_sets(units[0].data))
        _clips[key] = clip
        _store(path, clip)
        return clip


class SyntheticSource:
    """Replays a camera's clip in real time, timestamps rising across loops."""

    def __init__(self, name: str, label: str = "", *, seed: str = "",
                 cache: Path | None = None) -> None:
        self.name, self.label, self.seed = name, label, seed or name
        self.cache = cache
        self.description = f"synthetic://{self.seed}"
        self._params = b""

    def parameter_sets(self) -> bytes:
        return self._params

    async def frames(self) -> AsyncIterator[AccessUnit]:
        clip = await asyncio.to_thread(encode_clip, self.name, self.label, self.seed,
                                       self.cache)
        self._params = clip.params
        start = time.monotonic()
        offset = 0
        while True:
            for unit in clip.units:
                pts = offset + unit.pts
                wait = start + pts / CLOCK_RATE - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                elif wait < -2.0:  # the loop stalled: jump instead of bursting
                    start -= wait
                yield AccessUnit(unit.data, pts, unit.keyframe)
            offset += clip.duration
