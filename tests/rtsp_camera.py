"""A real RTSP camera for tests: GStreamer's RTSP server serving H.264 at /cam.

Run with the system interpreter (it needs python3-gi, not the venv):

    /usr/bin/python3 tests/rtsp_camera.py PORT [WIDTHxHEIGHT] [FPS]

Prints "ready" on stdout once it listens; SIGTERM stops it. Each client gets its
own pipeline, so a reconnecting relay gets a keyframe at once, like most cameras.

Imported by the tests (venv Python) for `RtspCamera`, which starts and stops the
script; gi is imported only when run as the camera.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtspCamera:
    """The camera script as a subprocess on a fixed port, stoppable and restartable."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self, timeout: float = 15.0) -> None:
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(Path(__file__).resolve()), str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "GST_DEBUG": "0"})
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline().strip()
        if line != "ready" or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError(f"RTSP camera did not start: {line!r}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def main() -> None:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
    port = sys.argv[1]
    size = sys.argv[2] if len(sys.argv) > 2 else "640x360"
    fps = sys.argv[3] if len(sys.argv) > 3 else "15"
    width, height = size.split("x")
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball"
        f" ! video/x-raw,width={width},height={height},framerate={fps}/1"
        f" ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30"
        f" ! video/x-h264,profile=constrained-baseline"
        f" ! rtph264pay name=pay0 pt=96 config-interval=1 )")
    factory.set_shared(False)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print("cannot listen", flush=True)
        sys.exit(1)
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    signal.signal(signal.SIGINT, lambda *_: loop.quit())
    print("ready", flush=True)
    # Let Python's signal handlers run while GLib's loop sleeps.
    GLib.timeout_add(200, lambda: True)
    loop.run()


if __name__ == "__main__":
    main()
