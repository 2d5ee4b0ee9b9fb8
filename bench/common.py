"""What the benchmarks share: a database to run on and percentile maths."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from db.embedded import EmbeddedPostgres


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """DATABASE_URL if set, else a throw-away private cluster (removed afterwards)."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    base = Path(tempfile.mkdtemp(prefix="pantau-bench-"))
    os.chmod(base, 0o711)
    cluster = EmbeddedPostgres(base / "data")
    try:
        yield cluster.start()
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float]) -> str:
    return (f"p50 {pct(values, 50):7.3f} ms   p99 {pct(values, 99):7.3f} ms   "
            f"mean {statistics.fmean(values):7.3f} ms   n={len(values)}")


def demo_city(url: str, label: str) -> tuple[dict[str, str], str]:
    """Seed the demo city (no tickets) with the real CLI; returns the environment
    for `pantau serve` on `url` (SLA scans off, so they do not skew timings) and
    the path of the `pantau` command."""
    env = {**os.environ, "DATABASE_URL": url, "PANTAU_LOG_FORMAT": "json",
           "PANTAU_SLA_SCAN_SECONDS": "0"}
    pantau = str(Path(sys.executable).parent / "pantau")
    print(f"{label} bench: seeding the demo city ...", flush=True)
    subprocess.run([pantau, "seed", "demo", "--tickets", "0"], env=env, check=True,
                   capture_output=True)
    return env, pantau
