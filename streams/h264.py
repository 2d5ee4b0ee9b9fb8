"""H.264 access units in Annex-B form, and the few bitstream facts the relay needs.

aiortc's packetiser splits on Annex-B start codes, so everything the relay holds is
Annex-B; length-prefixed (AVCC) input from MP4 is converted by the file source.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

START_CODE = b"\x00\x00\x00\x01"
CLOCK_RATE = 90_000  # RTP video clock; every pts in streams/ is in these ticks

NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9


@dataclass(frozen=True)
class AccessUnit:
    """One encoded picture: Annex-B bytes, pts in 90 kHz ticks, keyframe flag."""

    data: bytes
    pts: int
    keyframe: bool
    received: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("an access unit needs data")
        if self.pts < 0:
            raise ValueError("pts must not be negative")


def split_nals(data: bytes) -> list[bytes]:
    """The NAL units of an Annex-B buffer, without their start codes."""
    nals: list[bytes] = []
    i, n = 0, len(data)
    start = -1
    while i + 3 <= n:
        if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
            if start >= 0:
                end = i - 1 if i > 0 and data[i - 1] == 0 else i
                if end > start:
                    nals.append(data[start:end])
            i += 3
            start = i
            continue
        i += 1
    if start >= 0 and start < n:
        nals.append(data[start:])
    return nals


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def is_annexb(data: bytes) -> bool:
    return data.startswith(START_CODE) or data.startswith(b"\x00\x00\x01")


def join_nals(nals: list[bytes]) -> bytes:
    return b"".join(START_CODE + n for n in nals)


def parameter_sets(data: bytes) -> bytes:
    """The SPS and PPS units found in `data`, as Annex-B (empty when none)."""
    return join_nals([n for n in split_nals(data) if n and nal_type(n) in (NAL_SPS, NAL_PPS)])


def avcc_extradata_to_annexb(extradata: bytes) -> bytes:
    """SPS/PPS from an avcC box (MP4 extradata) as Annex-B."""
    if len(extradata) < 7 or extradata[0] != 1:
        return b""
    out: list[bytes] = []
    pos = 5
    count = extradata[pos] & 0x1F
    pos += 1
    for _ in range(count):
        size = int.from_bytes(extradata[pos:pos + 2], "big")
        out.append(extradata[pos + 2:pos + 2 + size])
        pos += 2 + size
    count = extradata[pos]
    pos += 1
    for _ in range(count):
        size = int.from_bytes(extradata[pos:pos + 2], "big")
        out.append(extradata[pos + 2:pos + 2 + size])
        pos += 2 + size
    return join_nals(out)


def with_parameter_sets(data: bytes, params: bytes) -> bytes:
    """`data` with SPS/PPS in front when it lacks them.

    A decoder that joins mid-stream (a new viewer, a decoder reset after loss)
    can only start at a keyframe that carries its parameter sets; many cameras
    send them once per connection, so the relay repeats them.
    """
    if not params:
        return data
    types = {nal_type(n) for n in split_nals(data) if n}
    if NAL_SPS in types and NAL_PPS in types:
        return data
    return params + data


def profile_of(sps_annexb: bytes) -> str | None:
    """The H.264 profile named by the first SPS, e.g. "baseline", "main", "high"."""
    for nal in split_nals(sps_annexb):
        if nal and nal_type(nal) == NAL_SPS and len(nal) > 3:
            idc, constraints = nal[1], nal[2]
            if idc == 66:
                return "constrained-baseline" if constraints & 0x40 else "baseline"
            return {77: "main", 88: "extended", 100: "high"}.get(idc, f"profile-{idc}")
    return None
