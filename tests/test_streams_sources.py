"""Sources and the relay's rules, without a network: real PyAV files, real clips."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path

import av
import pytest

from streams.h264 import (
    CLOCK_RATE,
    NAL_PPS,
    NAL_SPS,
    AccessUnit,
    nal_type,
    parameter_sets,
    split_nals,
)
from streams.health import Health
from streams.relay import CameraConfig, Relay, RelaySettings
from streams.sources import FileSource, RtspSource, SourceError, source_for
from streams.synthetic import GOP, encode_clip
from streams.viewer import ViewerTrack
from tests.rtsp_camera import free_port

pytestmark = pytest.mark.timeout(60)


def write_mp4(path: Path, frames: int = 15, fps: int = 15, *, codec: str = "libx264",
              b_frames: int = 0) -> None:
    """A short MP4; with H.264, length-prefixed NAL units (AVCC), SPS/PPS only in avcC."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "medium" if b_frames else "ultrafast",
                              "bf": str(b_frames), "g": str(fps)}
        for i in range(frames):
            img = av.VideoFrame(320, 180, "yuv420p")
            for plane in img.planes:
                plane.update(bytes([(i * 16) % 256]) * plane.buffer_size)
            img.pts = i
            img.time_base = Fraction(1, fps)
            for packet in stream.encode(img):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


async def take(frames: AsyncIterator[AccessUnit], n: int) -> list[AccessUnit]:
    out = []
    async for unit in frames:
        out.append(unit)
        if len(out) == n:
            break
    return out


async def test_file_source_converts_mp4_to_annexb_loops_and_paces(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_mp4(path)
    with av.open(str(path)) as probe:
        assert not bytes(next(probe.demux(video=0))).startswith(b"\x00\x00\x00\x01")  # AVCC
    source = FileSource(path)
    started = time.monotonic()
    units = await take(source.frames(), 25)  # one and a half loops
    elapsed = time.monotonic() - started
    assert all(u.data.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01")) for u in units)
    pts = [u.pts for u in units]
    assert pts == sorted(pts) and len(set(pts)) == len(pts), pts  # rises across the loop
    assert units[15].keyframe and units[15].pts > units[14].pts
    assert 1.3 <= elapsed <= 3.0, elapsed  # 24 frame intervals at 15 fps, not as fast as disk
    params = source.parameter_sets()
    assert {nal_type(n) for n in split_nals(params)} == {NAL_SPS, NAL_PPS}


async def test_missing_file_and_unknown_kinds_are_reported() -> None:
    with pytest.raises(SourceError):
        FileSource("/nonexistent/camera.mp4")
    with pytest.raises(SourceError):
        source_for("rtsp", "http://not-rtsp/")
    with pytest.raises(SourceError):
        source_for("webcam", "x")


async def test_sources_the_browser_cannot_play_are_named_in_health(tmp_path: Path) -> None:
    """Passthrough needs H.264 without B-frames; anything else is an error worth showing."""
    write_mp4(tmp_path / "mpeg4.mp4", codec="mpeg4")
    write_mp4(tmp_path / "bframes.mp4", frames=30, b_frames=2)
    for name, expected in (("mpeg4.mp4", "unsupported codec mpeg4"),
                           ("bframes.mp4", "B-frames")):
        relay = Relay(RelaySettings(backoff_min=5, backoff_max=5),
                      make_source=lambda cfg: FileSource(cfg.source_url))
        feed = relay.configure(CameraConfig(1, "f", "F", "file", str(tmp_path / name)))
        async with feed.hold():
            for _ in range(50):
                if feed.health.error:
                    break
                await asyncio.sleep(0.1)
        assert feed.health.error and expected in feed.health.error, feed.health
        assert feed.health.state == "offline" and not feed.health.online
        await relay.close()


async def test_rtsp_errors_never_carry_the_camera_password() -> None:
    port = free_port()  # nothing listens: the connection is refused
    source = RtspSource(f"rtsp://admin:s3cret-pw@127.0.0.1:{port}/stream1", open_timeout=2)
    with pytest.raises(SourceError) as failure:
        await take(source.frames(), 1)
    assert "s3cret-pw" not in str(failure.value) and "admin" not in str(failure.value)
    assert f"127.0.0.1:{port}/stream1" in str(failure.value)


def test_synthetic_clip_is_baseline_annexb_with_a_short_gop() -> None:
    clip = encode_clip("Uji", "Coblong", "test-clip")
    keys = [i for i, u in enumerate(clip.units) if u.keyframe]
    assert keys[0] == 0 and all(b - a == GOP for a, b in itertools.pairwise(keys))
    assert all(u.data.startswith(b"\x00\x00\x00\x01") for u in clip.units)
    sps = next(n for n in split_nals(clip.params) if nal_type(n) == NAL_SPS)
    assert sps[1] == 66  # baseline: no B-frames, any WebRTC H.264 decoder plays it
    frames = av.CodecContext.create("h264", "r").decode(av.Packet(clip.units[0].data))
    assert (frames[0].width, frames[0].height) == (640, 360)


def _unit(pts: int, key: bool, body: bytes = b"\x00\x00\x00\x01\x41\x9a") -> AccessUnit:
    return AccessUnit(body if not key else b"\x00\x00\x00\x01\x65\x88", pts, key)


async def test_slow_viewer_drops_to_the_next_keyframe_and_others_do_not_notice() -> None:
    slow, fast = ViewerTrack(1, maxsize=5), ViewerTrack(1, maxsize=100)
    tick = CLOCK_RATE // 15
    slow.offer(_unit(0, True))
    fast.offer(_unit(0, True))
    for i in range(1, 12):
        slow.offer(_unit(i * tick, False))
        fast.offer(_unit(i * tick, False))
    assert slow._queue.qsize() <= 5 and slow.dropped > 0
    assert fast._queue.qsize() == 12
    slow.offer(_unit(12 * tick, False))  # still waiting for a keyframe: dropped
    slow.offer(_unit(13 * tick, True))
    packet = await slow.recv()
    assert bytes(packet).startswith(b"\x00\x00\x00\x01\x65")  # resumes at the keyframe
    slow.stop()
    fast.stop()


async def test_new_viewer_starts_from_the_cached_gop_in_a_burst() -> None:
    tick = CLOCK_RATE // 15
    gop = [_unit(0, True)] + [_unit(i * tick, False) for i in range(1, 10)]
    track = ViewerTrack(1)
    track.start_from(gop)
    pts = [(await track.recv()).pts for _ in range(10)]
    assert pts[-1] - pts[0] < CLOCK_RATE // 50  # ten cached frames within 20 ms of media time
    track.offer(_unit(10 * tick, False))
    live = await track.recv()
    assert live.pts == pts[-1] + tick  # then live frames at their real spacing
    track.stop()


async def test_a_gop_longer_than_the_queue_still_starts_a_viewer_without_drops() -> None:
    tick = CLOCK_RATE // 15
    gop = [_unit(0, True)] + [_unit(i * tick, False) for i in range(1, 60)]  # 4 s GOP
    track = ViewerTrack(1, maxsize=30)
    track.start_from(gop)
    track.offer(_unit(60 * tick, False))  # live frames arrive before the burst is out
    got = [bytes(await track.recv()) for _ in range(61)]
    assert track.dropped == 0 and got[0].startswith(b"\x00\x00\x00\x01\x65")
    for i in range(61, 61 + 31):  # after the burst, the normal bound applies again
        track.offer(_unit(i * tick, False))
    assert track.dropped > 0
    track.stop()


class ScriptedSource:
    """A camera that sends keyframes without SPS/PPS (they come out of band), then stalls."""

    description = "scripted"

    def __init__(self, frames: int, params: bytes) -> None:
        self.n, self.params = frames, params

    def parameter_sets(self) -> bytes:
        return self.params

    async def frames(self) -> AsyncIterator[AccessUnit]:
        tick = CLOCK_RATE // 15
        for i in range(self.n):
            yield _unit(i * tick, i % 5 == 0)
            await asyncio.sleep(1 / 15)
        await asyncio.sleep(3600)  # stalls without closing, like a hung camera


async def test_relay_repeats_parameter_sets_and_its_watchdog_reports_offline() -> None:
    clip = encode_clip("Uji", "Coblong", "test-clip")
    changes: list[tuple[str, str]] = []

    def on_health(_cid: int, before: Health, after: Health) -> None:
        changes.append((before.state, after.state))

    relay = Relay(RelaySettings(offline_after=0.8, idle_grace=0.2), on_health,
                  make_source=lambda _cfg: ScriptedSource(12, clip.params))
    feed = relay.configure(CameraConfig(7, "uji", "Uji", "synthetic", "synthetic://uji"))
    track = ViewerTrack(7)
    feed.add_viewer(track)
    first = await asyncio.wait_for(track.recv(), 5)
    assert parameter_sets(bytes(first)) == clip.params  # prepended to the keyframe
    await asyncio.sleep(3.0)  # 0.8 s of frames, 0.8 s of silence, 0.5 s watchdog period
    assert ("connecting", "online") in changes and ("online", "offline") in changes
    feed.remove_viewer(track)
    await asyncio.sleep(0.5)
    assert feed.health.state == "idle"  # stopped after the grace: nobody watches
    await relay.close()


async def test_one_source_per_camera_whatever_the_number_of_viewers() -> None:
    clip = encode_clip("Uji", "Coblong", "test-clip")
    opened: list[str] = []

    def make(cfg: CameraConfig) -> ScriptedSource:
        opened.append(cfg.code)
        return ScriptedSource(1000, clip.params)

    relay = Relay(RelaySettings(idle_grace=0.3), make_source=make)
    feed = relay.configure(CameraConfig(3, "tiga", "Tiga", "synthetic", "synthetic://tiga"))
    tracks = [ViewerTrack(3) for _ in range(10)]
    for t in tracks:
        feed.add_viewer(t)
    await asyncio.gather(*(asyncio.wait_for(t.recv(), 5) for t in tracks))
    assert opened == ["tiga"]
    for t in tracks[:9]:
        feed.remove_viewer(t)
    await asyncio.sleep(0.6)
    assert feed.health.state == "online"  # one viewer left: keeps running
    late = ViewerTrack(3)
    feed.add_viewer(late)  # joins the running source, from the GOP cache
    await asyncio.wait_for(late.recv(), 1)
    assert opened == ["tiga"]
    await relay.close()
