"""The CCTV relay under a full wall: 24 cameras x 2 walls = 48 WHEP viewers.

Measured in one run, on the same cameras:
  passthrough  a real `pantau serve` process relaying H.264 (no decode, no encode);
  re-encode    aiortc's default path (decode once per camera, MediaRelay fan-out,
               one H.264 encoder per viewer) in its own process, with fewer viewers
               because it cannot carry 48 on two cores.
For each: CPU of the server process (% of one core, from /proc), delivered fps
per viewer, and time from the WHEP answer to the first decoded frame (a cold
camera whose source starts now, and a viewer joining a live camera, which the
GOP cache serves). Viewers are aiortc peers in this process; they decode their
first picture for real and then only count frames, so the clients do not starve
the servers of CPU.

    .venv/bin/python bench/relay.py [--seconds 15] [--walls 2] [--transcode-cameras 4]

Targets (issue #6): 48 viewers at full frame rate with the server under 60% of
one core; at least 15x less CPU per stream than re-encoding; first frame within
500 ms whatever the keyframe interval.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, rtcrtpreceiver
from aiortc.codecs import get_decoder as aiortc_get_decoder

from bench.common import bench_database, pct
from db import migrate

CLK_TCK = os.sysconf("SC_CLK_TCK")
FPS = 15


# -- viewers ------------------------------------------------------------------------


class CountingDecoder:
    """Decodes for real until the first picture, then counts frames without decoding."""

    def __init__(self, codec: Any) -> None:
        self.real = aiortc_get_decoder(codec)
        self.decoded_one = False

    def decode(self, encoded_frame: Any) -> list[av.VideoFrame]:
        if not self.decoded_one:
            frames = self.real.decode(encoded_frame)
            if frames:
                self.decoded_one = True
            return frames  # type: ignore[no-any-return]
        frame = av.VideoFrame(16, 16, "yuv420p")
        frame.pts = encoded_frame.timestamp
        frame.time_base = Fraction(1, 90_000)
        return [frame]


rtcrtpreceiver.get_decoder = CountingDecoder  # type: ignore[assignment]


@dataclass
class Viewer:
    url: str
    headers: dict[str, str]
    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(
        RTCConfiguration(iceServers=[])))
    answered: float = 0.0
    first_frame: float = 0.0
    width: int = 0
    frames: int = 0
    task: asyncio.Task[None] | None = None
    location: str = ""

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.pc.addTransceiver("video", direction="recvonly")
        track_ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pc.on("track", lambda t: track_ready.done() or track_ready.set_result(t))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with session.post(self.url, data=self.pc.localDescription.sdp,
                                headers={**self.headers, "Content-Type": "application/sdp"}
                                ) as resp:
            if resp.status != 201:
                raise SystemExit(f"WHEP {self.url}: {resp.status} {await resp.text()}")
            answer = await resp.text()
            self.location = resp.headers.get("Location", "")
        self.answered = time.perf_counter()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        self.task = asyncio.create_task(self._count(await track_ready))

    async def _count(self, track: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                if not self.first_frame:
                    self.first_frame = time.perf_counter()
                    self.width = frame.width
                self.frames += 1

    @property
    def first_frame_ms(self) -> float:
        return (self.first_frame - self.answered) * 1000 if self.first_frame else float("nan")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.pc.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime, all threads


async def wait_first_frames(viewers: list[Viewer], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    for _ in range(int(timeout / 0.05)):  # polled: frames arrive on the viewers' own tasks
        if all(v.first_frame for v in viewers) or time.perf_counter() > deadline:
            return
        await asyncio.sleep(0.05)


@dataclass
class Result:
    name: str
    viewers: int
    cpu_pct: float
    fps: list[float]
    cold_ms: list[float]
    warm_ms: list[float]
    widths: set[int]

    @property
    def cpu_per_stream(self) -> float:
        return self.cpu_pct / max(self.viewers, 1)

    def lines(self) -> list[str]:
        def ms(values: list[float]) -> str:
            ok = [v for v in values if v == v]
            missing = len(values) - len(ok)
            if not ok:
                return "no frames"
            return (f"p50 {pct(ok, 50):6.0f} ms  max {max(ok):6.0f} ms"
                    + (f"  ({missing} never)" if missing else ""))
        return [
            f"{self.name}: {self.viewers} viewers",
            f"  server CPU        {self.cpu_pct:6.1f}% of one core "
            f"({self.cpu_per_stream:.2f}% per viewer stream)",
            f"  fps per viewer    min {min(self.fps):5.1f}  median "
            f"{statistics.median(self.fps):5.1f}  max {max(self.fps):5.1f}  (source {FPS})",
            f"  first frame, cold camera      {ms(self.cold_ms)}",
            f"  first frame, joining a live one {ms(self.warm_ms)}",
            f"  picture width     {sorted(self.widths)}",
        ]


async def measure(name: str, pid: int, urls: list[str], walls: int, headers: dict[str, str],
                  seconds: float) -> Result:
    async with aiohttp.ClientSession() as session:
        # Wave 1: one viewer per camera; each camera's source starts now (cold).
        first = [Viewer(u, headers) for u in urls]
        await asyncio.gather(*(v.start(session) for v in first))
        await wait_first_frames(first, 30)
        await asyncio.sleep(1.0)
        # Further walls join cameras that are already live (the GOP cache's case).
        later = [Viewer(u, headers) for _ in range(walls - 1) for u in urls]
        for v in later:  # one at a time, as walls come up, so each join is timed alone
            await v.start(session)
        await wait_first_frames(later, 15)
        viewers = first + later
        await asyncio.sleep(2.0)  # settle
        counts = [v.frames for v in viewers]
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu1, t1 = cpu_seconds(pid), time.perf_counter()
        fps = [(v.frames - c) / (t1 - t0) for v, c in zip(viewers, counts, strict=True)]
        for v in viewers:
            if v.location and v.location.startswith("/"):
                base = v.url.split("/whep/")[0]
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.delete(base + v.location, headers=headers):
                        pass
        await asyncio.gather(*(v.stop() for v in viewers))
    return Result(name, len(viewers), (cpu1 - cpu0) / (t1 - t0) * 100, fps,
                  [v.first_frame_ms for v in first], [v.first_frame_ms for v in later],
                  {v.width for v in viewers})


# -- the re-encode path, as its own server process -------------------------------------


def transcode_worker(port: int, codes: list[str]) -> None:
    """aiortc's default path: decode once per camera, MediaRelay, encode per viewer."""
    from aiohttp import web
    from aiortc.contrib.media import MediaRelay
    from aiortc.mediastreams import MediaStreamTrack

    from streams.synthetic import SyntheticSource
    from streams.whep import h264_codecs

    class DecodedCamera(MediaStreamTrack):
        kind = "video"

        def __init__(self, code: str) -> None:
            super().__init__()
            self.source = SyntheticSource(code, "", seed=code)
            self.units: Any = None
            self.ctx = av.CodecContext.create("h264", "r")
            self.pending: list[av.VideoFrame] = []

        async def recv(self) -> av.VideoFrame:  # type: ignore[override]
            if self.units is None:
                self.units = self.source.frames().__aiter__()
            while not self.pending:
                unit = await self.units.__anext__()
                for f in self.ctx.decode(av.Packet(unit.data)):
                    f.pts, f.time_base = unit.pts, Fraction(1, 90_000)
                    self.pending.append(f)
            return self.pending.pop(0)

    relay = MediaRelay()
    cameras: dict[str, DecodedCamera] = {}
    pcs: set[RTCPeerConnection] = set()

    async def offer(request: web.Request) -> web.Response:
        code = request.match_info["code"]
        if code not in codes:
            raise web.HTTPNotFound()
        camera = cameras.setdefault(code, DecodedCamera(code))
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.add(pc)
        transceiver = pc.addTransceiver(relay.subscribe(camera), direction="sendonly")
        transceiver.setCodecPreferences(h264_codecs())
        await pc.setRemoteDescription(RTCSessionDescription(await request.text(), "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.Response(status=201, text=pc.localDescription.sdp,
                            content_type="application/sdp")

    async def close_all(_app: web.Application) -> None:
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)

    app = web.Application()
    app.router.add_post("/whep/{code}", offer)
    app.on_shutdown.append(close_all)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


# -- main ---------------------------------------------------------------------------


async def wait_http(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as r:
                    if r.status < 500:
                        return
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(url: str) -> list[tuple[int, str]]:
    from db.models import Camera
    from db.orm import close_orm, init_orm
    from db.seed.demo import seed_demo

    await init_orm(url, max_size=4)
    try:
        await seed_demo(tickets=0)
        return [(c.id, c.code) for c in await Camera.all().order_by("id")]
    finally:
        await close_orm()


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def main(args: argparse.Namespace) -> None:
    load = os.getloadavg()
    with bench_database() as url:
        await migrate.upgrade(url)
        cameras = (await seed(url))[:args.cameras]
        env = {**os.environ, "DATABASE_URL": url, "PANTAU_LOG_FORMAT": "json"}
        pantau = str(Path(sys.executable).parent / "pantau")
        port = free_port()
        server = subprocess.Popen([pantau, "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_http(base + "/healthz")
            async with aiohttp.ClientSession() as s, s.post(
                    base + "/api/auth/login",
                    json={"username": "operator", "password": "pantau-demo"}) as r:
                token = (await r.json())["token"]
            passthrough = await measure(
                "passthrough (pantau serve)", server.pid,
                [f"{base}/whep/cameras/{cid}" for cid, _ in cameras], args.walls,
                {"Authorization": f"Bearer {token}"}, args.seconds)
        finally:
            stop(server)

    tport = free_port()
    codes = [code for _, code in cameras[:args.transcode_cameras]]
    worker = subprocess.Popen([sys.executable, __file__, "--transcode-worker", str(tport),
                               "--codes", ",".join(codes)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await wait_http(f"http://127.0.0.1:{tport}/")
        transcode = await measure(
            "re-encode (aiortc decode + MediaRelay + per-viewer H.264 encode)", worker.pid,
            [f"http://127.0.0.1:{tport}/whep/{c}" for c in codes], args.walls, {},
            args.seconds)
    finally:
        stop(worker)

    print(f"relay benchmark: {args.seconds:.0f} s steady state, {os.cpu_count()} cores, "
          f"load average before the run {load[0]:.2f} (other work on the machine skews CPU)")
    for r in (passthrough, transcode):
        print("\n".join(r.lines()))
    ratio = transcode.cpu_per_stream / max(passthrough.cpu_per_stream, 1e-9)
    full_rate = min(passthrough.fps) >= FPS * 0.9
    warm_p50 = pct([v for v in passthrough.warm_ms if v == v], 50)
    print(f"re-encode costs {ratio:.1f}x the CPU per viewer stream of passthrough "
          f"(target >= 15x) {'OK' if ratio >= 15 else 'UNDER TARGET'}")
    print(f"passthrough: {passthrough.viewers} viewers, "
          f"{'full frame rate' if full_rate else 'BELOW full frame rate'}, server "
          f"{passthrough.cpu_pct:.0f}% of a core (target < 60%) "
          f"{'OK' if passthrough.cpu_pct < 60 else 'OVER TARGET'}; first frame joining a "
          f"live camera p50 {warm_p50:.0f} ms (target 500 ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--cameras", type=int, default=24)
    parser.add_argument("--walls", type=int, default=2)
    parser.add_argument("--transcode-cameras", type=int, default=4)
    parser.add_argument("--transcode-worker", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--codes", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.transcode_worker:
        transcode_worker(args.transcode_worker, args.codes.split(","))
    else:
        asyncio.run(main(args))
