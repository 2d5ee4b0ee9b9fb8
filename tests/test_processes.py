"""Whole processes as production runs them: `pantau up`, two `pantau serve` on one
database, the private Postgres, and a database that goes away and comes back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from db import migrate
from db.embedded import EmbeddedPostgres
from tests.conftest import Api, base_of, next_event, start_app

PANTAU = str(Path(sys.executable).parent / "pantau")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(base: str, timeout: float = 20, want: int = 200) -> dict:
    deadline = time.monotonic() + timeout
    last: object = None
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(base + "/healthz") as resp:
                    last = await resp.json()
                    if resp.status == want:
                        return last  # type: ignore[return-value]
            except aiohttp.ClientError as exc:
                last = exc
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base} not {want} in {timeout}s: {last}")


@pytest.fixture
def private_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pantau-proc-"))
    os.chmod(path, 0o711)
    yield path
    cluster = EmbeddedPostgres(path / "data")
    if cluster.initialised:
        cluster.destroy()
    shutil.rmtree(path, ignore_errors=True)


def _serve(db_url: str, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PANTAU, "serve", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": db_url, "PANTAU_LOG_FORMAT": "json"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.stdout.read() if proc.stdout else ""


async def test_two_servers_deliver_each_others_events(db_url: str) -> None:
    ports = free_port(), free_port()
    procs = [_serve(db_url, p) for p in ports]
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            await wait_healthy(base)
        async with aiohttp.ClientSession() as session:
            a, b = Api(bases[0], session), Api(bases[1], session)
            admin = await a.login("admin")
            ws_b = await b.ws(token=await b.login("supervisor"))
            ws_a = await a.ws(token=admin)
            await ws_a.receive_json()
            await ws_b.receive_json()
            new = {"username": "lintas", "full_name": "Lintas Server", "roles": ["expert"],
                   "password": "kopi-susu-merah-7"}
            status, _ = await a.post("/api/people", new, token=admin)
            assert status == 201
            seen_b = await next_event(ws_b, "person.created")
            assert seen_b["payload"]["username"] == "lintas"
            # and the other way round
            status, _ = await b.post("/api/people/lintas/disable", token=await b.login("admin"))
            assert status == 200
            seen_a = await next_event(ws_a, "person.disabled")
            assert seen_a["id"] > seen_b["id"]
            await ws_a.close()
            await ws_b.close()
    finally:
        logs = [_stop(p) for p in procs]
    assert all('"msg": "listening"' in log for log in logs), logs


def test_embedded_postgres_start_stop_restart_keeps_data(private_dir: Path) -> None:
    cluster = EmbeddedPostgres(private_dir / "data")
    url = cluster.start()
    assert cluster.is_running()
    assert (private_dir / "data" / "db.json").stat().st_mode & 0o777 == 0o600

    async def write_then_read(value: str | None) -> str | None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE IF NOT EXISTS kept (v text)")
            if value:
                await conn.execute("INSERT INTO kept VALUES ($1)", value)
            return await conn.fetchval("SELECT v FROM kept LIMIT 1")  # type: ignore[no-any-return]
        finally:
            await conn.close()

    asyncio.run(write_then_read("bandung"))
    cluster.stop()
    assert not cluster.is_running()
    cluster.stop()  # twice is fine
    assert cluster.start() == url
    assert asyncio.run(write_then_read(None)) == "bandung"
    # it listens on loopback only and wants the password
    bad = url.replace(url.split(":")[2].split("@")[0], "wrong")

    async def refused() -> None:
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(bad)

    asyncio.run(refused())
    cluster.stop()


def test_pantau_up_runs_everything_and_ctrl_c_stops_it(private_dir: Path) -> None:
    env = {**os.environ, "PANTAU_DATA_DIR": str(private_dir / "data")}
    env.pop("DATABASE_URL", None)
    env.pop("PANTAU_SECRET_KEY", None)  # as a user runs it: the key file in the data dir
    port = free_port()

    def start() -> tuple[subprocess.Popen[str], float, str]:
        began = time.monotonic()
        proc = subprocess.Popen([PANTAU, "up", "--port", str(port)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        health = asyncio.run(wait_healthy(f"http://127.0.0.1:{port}", timeout=60))
        assert health["status"] == "ok"
        return proc, time.monotonic() - began, ""

    proc, first, _ = start()
    # A demo device presses with its published secret; the server opens its sealed
    # copy with the key file `pantau up` made (0600, in the data dir, not the database).
    press = subprocess.run([PANTAU, "device", "press", "demo-dago", "--server",
                            f"http://127.0.0.1:{port}"], env=env, capture_output=True,
                           text=True, timeout=60)
    key_file = private_dir / "data" / "secret-key"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert press.returncode == 0 and "raised" in press.stdout, press.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert proc.returncode == 0, err
    assert "Pantau is up" in out and "operator" in out and "pantau-demo" in out
    assert f"http://127.0.0.1:{port}" in out
    assert "stopping the private Postgres" in err
    cluster = EmbeddedPostgres(private_dir / "data")
    assert not cluster.is_running()
    # the second start reuses the data and is quick
    proc, second, _ = start()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "applied migration" not in err
    assert second < 10, f"second start took {second:.1f}s (first {first:.1f}s)"
    assert not cluster.is_running()
    # a cluster left running by a crashed run is adopted and stopped on Ctrl-C
    cluster.start()
    proc, _, _ = start()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopping the private Postgres" in err
    assert not cluster.is_running()


@pytest.fixture
async def own_cluster(private_dir: Path) -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    cluster = EmbeddedPostgres(private_dir / "data")
    url = cluster.start()
    await migrate.upgrade(url)
    from db.orm import close_orm, init_orm
    from db.seed.demo import seed_demo

    await init_orm(url, max_size=2)
    await seed_demo(tickets=0)
    await close_orm()
    yield cluster, url
    cluster.stop("immediate")


async def test_database_outage_gives_503_then_recovers_and_replays(
        own_cluster: tuple[EmbeddedPostgres, str]) -> None:
    cluster, url = own_cluster
    srv = await start_app(url)
    base = base_of(srv)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(base, session)
            token = await api.login("supervisor")
            ws = await api.ws(token=token)
            last = (await ws.receive_json())["last_id"]

            await asyncio.to_thread(cluster.stop, "immediate")
            body = await wait_healthy(base, timeout=10, want=503)
            assert body["database"]["ok"] is False
            status, body = await api.get("/api/people", token=token)
            assert status == 503 and body["error"] == "database_unavailable"

            await asyncio.to_thread(cluster.start)
            # Written by "another process" while this server's hub may still be
            # reconnecting: the hub must catch up from the log.
            conn = await asyncpg.connect(url)
            missed = []
            for i in range(3):
                await conn.execute(
                    "INSERT INTO events (kind, subject_type, subject_id, actor, payload)"
                    " VALUES ('test.missed', 'test', $1, 'test', '{}')", str(i))
                # numbered at commit (migration 0013): read the id it got
                missed.append(await conn.fetchval(
                    "SELECT id FROM events WHERE kind = 'test.missed' AND subject_id = $1",
                    str(i)))
            await conn.close()
            await wait_healthy(base, timeout=15)
            status, _ = await api.get("/api/people", token=token)
            assert status == 200
            got = []
            for _ in missed:
                got.append((await next_event(ws, "test.missed", timeout=10))["id"])
            assert got == missed and got[0] > last
            await ws.close()
    finally:
        await srv.close()


async def test_procfile_release_then_web_with_honcho(empty_db_url: str) -> None:
    """The Procfile runs as a platform runs it: the release step, then web."""
    from tests.conftest import PROJECT_ROOT

    honcho = str(Path(sys.executable).parent / "honcho")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": empty_db_url, "PORT": str(port),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    release = subprocess.run([honcho, "start", "release"], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert release.returncode == 0, release.stdout + release.stderr
    assert "applied 0001_initial" in release.stdout
    web = subprocess.Popen([honcho, "start", "web"], cwd=PROJECT_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = await wait_healthy(f"http://127.0.0.1:{port}")
        assert health["hub"]["connected"] is True
    finally:
        _stop(web)


def test_embedded_postgres_as_an_ordinary_user() -> None:
    """Without root the cluster runs as the user itself (no runuser)."""
    import pwd

    from tests.conftest import PROJECT_ROOT

    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    user = pwd.getpwnam("nobody")
    home = Path(tempfile.mkdtemp(prefix="pantau-nobody-"))
    os.chmod(home, 0o755)
    # The unprivileged user cannot be assumed to read this checkout or its venv
    # (a clone below a private directory): give it copies of exactly what it runs.
    lib = home / "lib"
    (lib / "db").mkdir(parents=True)
    (lib / "db" / "__init__.py").write_text("")
    for module in ("embedded.py", "roles.py"):
        shutil.copy(PROJECT_ROOT / "db" / module, lib / "db" / module)
    shutil.copytree(Path(asyncpg.__file__).resolve().parent, lib / "asyncpg")
    os.chown(home, user.pw_uid, user.pw_gid)
    code = (
        "import asyncio, asyncpg\n"
        "from pathlib import Path\n"
        "from db.embedded import EmbeddedPostgres, default_data_dir\n"
        "e = EmbeddedPostgres(default_data_dir())\n"
        "url = e.start()\n"
        "async def q():\n"
        "    c = await asyncpg.connect(url)\n"
        "    print('user', await c.fetchval('SELECT current_user'))\n"
        "    await c.close()\n"
        "asyncio.run(q())\n"
        "e.stop()\n"
        "print('dir', e.base_dir)\n"
    )
    try:
        proc = subprocess.run(
            ["runuser", "-u", "nobody", "--", "env", f"HOME={home}", "/usr/bin/python3",
             "-c", code],
            env={"PATH": os.environ["PATH"], "HOME": str(home),
                 "PYTHONPATH": str(lib)},
            capture_output=True, text=True, timeout=60, cwd=home)
        assert proc.returncode == 0, proc.stderr
        assert "user pantau_app\n" in proc.stdout
        assert f"dir {home}/.local/share/pantau" in proc.stdout
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_second_pantau_up_on_the_same_data_refuses_and_the_first_keeps_serving(
        private_dir: Path) -> None:
    """Two `make up` at the same moment: one serves, the other says so in one line
    and leaves the first one's Postgres alone (it used to stop it)."""
    env = {**os.environ, "PANTAU_DATA_DIR": str(private_dir / "data")}
    env.pop("DATABASE_URL", None)
    cluster = EmbeddedPostgres(private_dir / "data")
    for _round in range(2):  # a fresh data directory, then one that exists
        ports = free_port(), free_port()
        procs = [subprocess.Popen([PANTAU, "up", "--port", str(p)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for p in ports]
        try:
            loser = None
            deadline = time.monotonic() + 60
            while loser is None and time.monotonic() < deadline:
                loser = next((k for k, p in enumerate(procs) if p.poll() is not None), None)
                time.sleep(0.05)
            assert loser is not None, "neither pantau up refused"
            winner = 1 - loser
            _, err = procs[loser].communicate(timeout=5)
            assert procs[loser].returncode == 1
            assert "already running" in err and str(private_dir / "data") in err
            assert len(err.strip().splitlines()) == 1, err
            base = f"http://127.0.0.1:{ports[winner]}"
            asyncio.run(wait_healthy(base, timeout=60))
            assert procs[winner].poll() is None and cluster.is_running()

            async def sign_in(url: str) -> None:  # the database really is there
                async with aiohttp.ClientSession() as session:
                    await Api(url, session).login("operator")

            asyncio.run(sign_in(base))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
                    p.communicate(timeout=30)
        assert not cluster.is_running()


def test_closing_the_terminal_stops_pantau_up_and_its_postgres(private_dir: Path) -> None:
    """`pantau up` in a real terminal (a pty it has as controlling terminal): when
    the terminal goes away the kernel sends SIGHUP, and Postgres is stopped too."""
    import fcntl
    import pty
    import termios
    import threading

    env = {**os.environ, "PANTAU_DATA_DIR": str(private_dir / "data")}
    env.pop("DATABASE_URL", None)
    port = free_port()
    master, slave = pty.openpty()

    def own_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([PANTAU, "up", "--port", str(port)], env=env, stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True,
                            preexec_fn=own_terminal)
    os.close(slave)
    seen: list[bytes] = []
    reading = threading.Event()
    reading.set()

    def drain() -> None:  # a terminal reads what the program writes
        with contextlib.suppress(OSError):
            while reading.is_set():
                if select.select([master], [], [], 0.1)[0]:
                    seen.append(os.read(master, 4096))

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    cluster = EmbeddedPostgres(private_dir / "data")
    try:
        asyncio.run(wait_healthy(f"http://127.0.0.1:{port}", timeout=60))
        assert cluster.is_running()
        reading.clear()
        reader.join()
        os.close(master)  # the terminal window closes
        proc.wait(30)
        assert not cluster.is_running(), b"".join(seen).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
