"""Device secrets at rest: sealed under a server key kept outside the database,
rotatable while devices keep pressing, and a wrong or missing key that says so."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from db.seed.demo import DEMO_DEVICES, demo_device_secret
from db.vault import KEY_ENV, ServerKey, VaultError, new_key, server_key, write_key_file
from server.keys import settings_key
from tests.conftest import PROJECT_ROOT
from tests.test_alarms_fixtures import MakeApi, alarm_api, app_of, device, enrol

__all__ = ["alarm_api"]


async def pantau(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "pantau"), *args, cwd=PROJECT_ROOT,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def stored(db_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(db_url)
    try:
        return {r["code"]: r["sealed_secret"]
                for r in await conn.fetch("SELECT code, sealed_secret FROM devices")}
    finally:
        await conn.close()


async def test_the_database_holds_no_device_secret_in_clear(
        alarm_api: MakeApi, db_url: str) -> None:
    api = await alarm_api()
    _, secret = await enrol(api, "braga-31")
    published = [demo_device_secret(d[0]) for d in DEMO_DEVICES]
    conn = await asyncpg.connect(db_url)
    try:
        # Every column of every device row, and the whole event log, as text.
        dump = "\n".join([r[0] for r in await conn.fetch("SELECT d::text FROM devices d")]
                         + [r[0] for r in await conn.fetch("SELECT e::text FROM events e")])
        for plain in [secret, *published]:
            assert plain not in dump
        sealed = await conn.fetchval(
            "SELECT sealed_secret FROM devices WHERE code = 'braga-31'")
        assert server_key().open(sealed) == secret
        # No later code path can store one in clear either: the database refuses it.
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE devices SET sealed_secret = 'pds_plain'"
                               " WHERE code = 'braga-31'")
    finally:
        await conn.close()
    # ...and signing works: the enrolled unit and a demo unit with its published secret.
    assert (await device(api, "braga-31", secret).press()).status == 201
    assert (await device(api, "demo-dago", demo_device_secret("demo-dago")).press()).status \
        == 201


async def test_rotating_the_key_file_keeps_devices_pressing(
        alarm_api: MakeApi, db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The key file as `pantau up` keeps it; `pantau secrets rotate-key` while the
    server runs: the server follows the file, no press fails at any point."""
    first = os.environ[KEY_ENV]
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv("PANTAU_DATA_DIR", str(tmp_path))
    key_file = write_key_file((first,))
    api = await alarm_api()
    _, secret = await enrol(api, "braga-32")
    before = await stored(db_url)
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV} | {
        "DATABASE_URL": db_url, "PANTAU_DATA_DIR": str(tmp_path)}

    pressing = True
    results: list[int] = []

    async def keep_pressing() -> None:
        unit = device(api, "braga-32", secret)
        while pressing:
            results.append((await unit.press()).status)

    presser = asyncio.create_task(keep_pressing())
    code, out, err = await pantau("secrets", "rotate-key", env=env)
    assert code == 0, err
    assert "sealed 5 device secret(s) with the new key" in out and "dropped 1 old key" in out
    pressing = False
    await presser
    assert results and set(results) == {201}, results
    keys = key_file.read_text().split()
    assert len(keys) == 1 and keys[0] != first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    after = await stored(db_url)
    assert after.keys() == before.keys() and all(after[c] != before[c] for c in after)
    with pytest.raises(VaultError):  # the retired key opens nothing any more
        ServerKey((first,), "old").open(after["braga-32"])
    assert (await device(api, "braga-32", secret).press()).status == 201
    assert (await device(api, "demo-dago", demo_device_secret("demo-dago")).press()).status \
        == 201
    code, out, err = await pantau("secrets", "status", env=env)
    assert code == 0 and "all 5 device secrets open" in out, err


async def test_rotating_an_environment_key_with_reseal(
        alarm_api: MakeApi, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    old, fresh = os.environ[KEY_ENV], new_key()
    api = await alarm_api()
    _, secret = await enrol(api, "braga-33")
    env = {**os.environ, "DATABASE_URL": db_url}
    code, _, err = await pantau("secrets", "rotate-key", env=env)
    assert code == 1 and "PANTAU_SECRET_KEY is set" in err
    monkeypatch.setenv(KEY_ENV, f"{fresh},{old}")  # every process: NEW,OLD
    code, out, err = await pantau("secrets", "reseal", env=env | {KEY_ENV: f"{fresh},{old}"})
    assert code == 0 and "sealed 5 device secret(s)" in out, err
    monkeypatch.setenv(KEY_ENV, fresh)  # then NEW alone, every process restarted
    api = await alarm_api()
    assert (await device(api, "braga-33", secret).press()).status == 201


async def test_a_wrong_or_missing_key_fails_clearly_and_nothing_is_lost(
        alarm_api: MakeApi, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    right = os.environ[KEY_ENV]
    api = await alarm_api()
    _, secret = await enrol(api, "braga-34")
    caplog.set_level(logging.INFO)

    # A wrong key: the press is answered 503 (the unit keeps retrying, it is not
    # told its secret is bad), the log says why, and once the key is back the same
    # press (same Idempotency-Key) is raised once. The server reads its key from
    # its settings, read once at start: the test swaps the running app's.
    settings = app_of(api)[settings_key]
    settings.secret_key = SecretStr(new_key())
    unit = device(api, "braga-34", secret, first_backoff_s=0.1, max_backoff_s=0.3)
    status, body = await unit.send("POST", "/api/alarms", {}, {"Idempotency-Key": "k-34"})
    assert status == 503 and body["error"] == "server_key_unavailable"
    assert "cannot open device secrets" in caplog.text
    assert "does not open with the server key from PANTAU_SECRET_KEY" in caplog.text
    retrying = asyncio.create_task(unit.press(key="k-34", deadline_s=30))
    await asyncio.sleep(0.5)
    assert not retrying.done()
    settings.secret_key = SecretStr(right)
    result = await retrying
    assert result.status == 201 and result.statuses[0] == 503
    conn = await asyncpg.connect(db_url)
    assert await conn.fetchval("SELECT count(*) FROM panic_alarms a JOIN devices d"
                               " ON d.id = a.device_id WHERE d.code = 'braga-34'") == 1
    await conn.close()
    env = {**os.environ, "DATABASE_URL": db_url}
    code, out, err = await pantau("secrets", "status", env=env | {KEY_ENV: new_key()})
    assert code == 1 and "5 of 5 device secrets do not open with this key" in err, (out, err)

    # A server started with the wrong key says so at once, in one line.
    caplog.clear()
    monkeypatch.setenv(KEY_ENV, new_key())
    await alarm_api()
    assert "device requests will be refused (503) until the server key is restored: " \
           "5 of 5 device secrets do not open" in caplog.text

    # No key at all, and a malformed one: one line each, no traceback.
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv("PANTAU_DATA_DIR", str(tmp_path))
    with pytest.raises(VaultError, match=r"no server key: .*secret-key does not exist"):
        server_key()
    env = {k: v for k, v in env.items() if k != KEY_ENV} | {"PANTAU_DATA_DIR": str(tmp_path)}
    code, _, err = await pantau("secrets", "status", env=env)
    assert code == 1 and "no server key" in err and "Traceback" not in err
    code, _, err = await pantau("secrets", "status", env=env | {KEY_ENV: "not-a-key"})
    assert code == 1 and "key 1 is not a server key" in err and "Traceback" not in err
    (tmp_path / "secret-key").write_text(right + "\n")
    os.chmod(tmp_path / "secret-key", 0o644)
    code, _, err = await pantau("secrets", "status", env=env)
    assert code == 1 and "readable by other users" in err
