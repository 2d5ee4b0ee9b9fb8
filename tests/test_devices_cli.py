"""`pantau device ...` as a user runs it: a subprocess against the real database and
the real server, with the secret kept in a 0600 file in the data dir."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT
from tests.test_alarms_fixtures import MakeApi, alarm_api, fetch

__all__ = ["alarm_api"]


async def pantau(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI without blocking the event loop the test server runs on."""
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "pantau"), *args, cwd=PROJECT_ROOT,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_enrol_press_rotate_disable_from_the_command_line(
        alarm_api: MakeApi, db_url: str, tmp_path: Path) -> None:
    api = await alarm_api()
    env = {"DATABASE_URL": db_url, "PANTAU_DATA_DIR": str(tmp_path), "PANTAU_SERVER": api.base,
           "PANTAU_DEVICE_SECRET": ""}
    code, out, err = await pantau(
        "device", "enrol", "cli-unit", "--owner", "Warung Bu Tini", "--kind", "place",
        "--district", "coblong", "--lat", "-6.8851", "--lon", "107.6135",
        "--contact", "Tini,+628111222333,whatsapp", env=env)
    assert code == 0, err
    secret = out.split("secret: ")[1].split()[0]
    kept = tmp_path / "device-secrets.json"
    assert json.loads(kept.read_text()) == {"cli-unit": secret}
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600

    code, out, err = await pantau("device", "list", "--json", env=env)
    assert code == 0, err
    listed = {d["code"]: d for d in json.loads(out)}
    assert listed["cli-unit"]["state"] == "never_seen" and "demo-braga" in listed
    assert secret not in out

    code, out, err = await pantau("device", "press", "cli-unit", env=env)
    assert code == 0, err
    assert "raised: Warung Bu Tini" in out and "simpang-dago" in out
    code, out, err = await pantau("device", "press", "demo-braga", env=env)  # demo secret
    assert code == 0, err
    code, out, err = await pantau("device", "heartbeat", "cli-unit", env=env)
    assert code == 0 and "heartbeat accepted" in out, err
    rows = await fetch(db_url, "SELECT d.code FROM panic_alarms a JOIN devices d"
                       " ON d.id = a.device_id ORDER BY a.id")
    assert [r["code"] for r in rows] == ["cli-unit", "demo-braga"]

    code, out, err = await pantau("device", "press", "cli-unit", "--secret", "pds_wrong",
                                  env=env)
    assert code == 1 and "refused (401)" in err
    code, out, err = await pantau("device", "rotate", "cli-unit", env=env)
    assert code == 0, err
    assert json.loads(kept.read_text())["cli-unit"] != secret
    code, out, err = await pantau("device", "press", "cli-unit", "--secret", secret, env=env)
    assert code == 1 and "refused (401)" in err  # the old secret no longer works
    code, out, err = await pantau("device", "disable", "cli-unit", "--yes", env=env)
    assert code == 0, err
    code, out, err = await pantau("device", "press", "cli-unit", env=env)
    assert code == 1 and "refused (403)" in err and "disabled" in err
    code, out, err = await pantau("device", "press", "nobody-here", env=env)
    assert code == 1 and "no secret for device" in err
    assert len(await fetch(db_url, "SELECT 1 FROM panic_alarms")) == 2
