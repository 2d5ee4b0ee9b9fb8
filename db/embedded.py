"""A private Postgres cluster for `pantau up` and the tests, from the system's binaries.

We use Debian's PostgreSQL 15 binaries rather than a bundled wheel: they are
already on the machines we target, get security updates from the distribution,
and run the same server the tests run against. initdb refuses to run as root, so
as root every server command runs as the unprivileged `postgres` system user
through `runuser`, and the cluster lives where that user can reach it.

The cluster listens on 127.0.0.1 only, on a port chosen once and remembered, and
requires a password (SCRAM) generated at creation and kept in a file only the
owner can read: "private" means other local users cannot connect either.

Two roles: `pantau`, the cluster's superuser, which only creates the database
and the app's role; and `pantau_app`, which owns the database and its schema and
nothing more (db/roles.py): what migrations and the server connect as. A cluster
made before the app role existed is upgraded on its next start.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PG_BIN_CANDIDATES = (
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
)
SERVER_USER = "postgres"
DB_NAME = "pantau"
DB_USER = "pantau"  # the cluster's superuser (initdb's bootstrap user)
APP_USER = "pantau_app"  # owns the database and its schema, nothing more

INSTALL_HINT = (
    "no PostgreSQL server binaries found; install them with "
    "`apt-get install postgresql-15` (Debian/Ubuntu) or set DATABASE_URL "
    "to an existing Postgres"
)


class EmbeddedPostgresError(RuntimeError):
    """Raised with a one-line, user-facing reason the cluster could not be used."""


def default_data_dir() -> Path:
    """Where Pantau keeps its private data when PANTAU_DATA_DIR is not set (the
    default of `DatabaseSettings.data_dir`; this module imports nothing of ours).

    As root the `postgres` user must be able to traverse to the cluster, which it
    cannot below /root, so root uses /var/lib/pantau.
    """
    if os.geteuid() == 0:
        return Path("/var/lib/pantau")
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "pantau"


def find_pg_bin(given: Path | None = None) -> Path:
    """The directory holding initdb/pg_ctl/postgres (`given`: PANTAU_PG_BIN), or an
    install hint."""
    candidates = [str(given)] if given else list(PG_BIN_CANDIDATES)
    for cand in candidates:
        if cand and (Path(cand) / "pg_ctl").exists() and (Path(cand) / "initdb").exists():
            return Path(cand)
    found = shutil.which("pg_ctl")
    if found and (Path(found).resolve().parent / "initdb").exists():
        return Path(found).resolve().parent
    raise EmbeddedPostgresError(INSTALL_HINT)


def run_coroutine_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when a loop is running.

    The embedded cluster is managed from plain functions that the CLI and the
    (async) tests both call.
    """
    import asyncio
    import threading

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: list[Any] = []

    def runner() -> None:
        try:
            box.append((True, asyncio.run(coro)))
        except BaseException as exc:
            box.append((False, exc))

    t = threading.Thread(target=runner)
    t.start()
    t.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int) -> bool:
    """Free for Postgres, which binds with SO_REUSEADDR: our own old connections in
    TIME_WAIT after a restart must not push the cluster to another port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class EmbeddedPostgres:
    """One private cluster below `base_dir` (cluster in `pgdata/`, secrets in `db.json`)."""

    base_dir: Path
    pg_bin: Path | None = None  # PANTAU_PG_BIN; None: the usual places

    @property
    def pgdata(self) -> Path:
        return self.base_dir / "pgdata"

    @property
    def secrets_file(self) -> Path:
        return self.base_dir / "db.json"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    # -- running server commands as the right user ---------------------------------

    def _cmd(self, argv: list[str]) -> list[str]:
        if self.as_root:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            return [runuser, "-u", SERVER_USER, "--", *argv]
        return argv

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self._cmd(argv),
            capture_output=True,
            text=True,
            cwd="/",
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            tail = detail[-1] if detail else f"exit {proc.returncode}"
            raise EmbeddedPostgresError(f"{Path(argv[0]).name} failed: {tail}")
        return proc

    def _chown_to_server_user(self, path: Path) -> None:
        if self.as_root:
            import pwd

            try:
                pw = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise EmbeddedPostgresError(
                    "running as root needs the `postgres` system user "
                    "(apt-get install postgresql-15 creates it)"
                ) from exc
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _check_reachable_by_server_user(self) -> None:
        """As root, every parent must let `postgres` pass, or initdb fails obscurely."""
        for parent in [self.base_dir, *self.base_dir.parents]:
            if not os.stat(parent).st_mode & 0o001:
                raise EmbeddedPostgresError(
                    f"the postgres user cannot reach {self.base_dir} ({parent} is private); "
                    "as root, set PANTAU_DATA_DIR to a directory like /var/lib/pantau")

    # -- state --------------------------------------------------------------------

    def _load_secrets(self) -> dict[str, object]:
        return dict(json.loads(self.secrets_file.read_text()))

    def _save_secrets(self, data: dict[str, object]) -> None:
        tmp = self.secrets_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, self.secrets_file)

    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists() and self.secrets_file.exists()

    @property
    def port(self) -> int:
        return int(self._load_secrets()["port"])  # type: ignore[call-overload]

    def url(self) -> str:
        """The app's DATABASE_URL: the schema owner, not the superuser."""
        data = self._load_secrets()
        return (f"postgres://{APP_USER}:{data['app_password']}@127.0.0.1:{data['port']}"
                f"/{DB_NAME}")

    def admin_url(self, database: str = "postgres") -> str:
        data = self._load_secrets()
        return f"postgres://{DB_USER}:{data['password']}@127.0.0.1:{data['port']}/{database}"

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        pg_ctl = find_pg_bin(self.pg_bin) / "pg_ctl"
        proc = self._run([str(pg_ctl), "-D", str(self.pgdata), "status"], check=False)
        return proc.returncode == 0

    # -- lifecycle ----------------------------------------------------------------

    def init(self) -> None:
        """Create the cluster once: a superuser `pantau` with a random password (the
        app's role and database are made by `start`)."""
        if self.initialised:
            return
        pg_bin = find_pg_bin(self.pg_bin)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base_dir, 0o711 if self.as_root else 0o700)
        if self.as_root:
            self._check_reachable_by_server_user()
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # a half-made cluster from an interrupted init
        self.pgdata.mkdir(mode=0o700)
        self._chown_to_server_user(self.pgdata)
        password = secrets.token_urlsafe(24)
        pwfile = self.base_dir / ".initpw"
        pwfile.write_text(password + "\n")
        os.chmod(pwfile, 0o600)
        self._chown_to_server_user(pwfile)
        try:
            self._run([
                str(pg_bin / "initdb"), "-D", str(self.pgdata), "-U", DB_USER,
                "--pwfile", str(pwfile), "--auth=scram-sha-256", "-E", "UTF8",
                "--locale=C.UTF-8", "--no-instructions",
            ])
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# pantau: private, loopback only\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.pgdata}'\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
                "fsync = on\n"
                "log_min_messages = warning\n"
            )
        self._save_secrets({"password": password, "port": _free_port(), "database": DB_NAME})

    def start(self, timeout: int = 30) -> str:
        """Start (creating if needed) and return the DATABASE_URL; idempotent."""
        self.init()
        pg_bin = find_pg_bin(self.pg_bin)
        if not self.is_running():
            data = self._load_secrets()
            port = int(data["port"])  # type: ignore[call-overload]
            if not _port_is_free(port):
                port = _free_port()
                data["port"] = port
                self._save_secrets(data)
            self._run([
                str(pg_bin / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.log_file),
                "-o", f"-p {port}", "-w", "-t", str(timeout), "start",
            ])
        self._ensure_database()
        return self.url()

    def _ensure_database(self) -> None:
        """Make sure of the app's role and database on every start: create them on
        first start, and upgrade a cluster from before the app role (its database
        and tables owned by the superuser) by handing them to the app role."""

        import asyncpg  # type: ignore[import-untyped]

        from db.roles import ensure_owner_role, hand_over

        data = self._load_secrets()
        if "app_password" not in data:
            data["app_password"] = secrets.token_urlsafe(24)
            self._save_secrets(data)

        async def ensure() -> None:
            conn = await asyncpg.connect(self.admin_url("postgres"))
            try:
                await ensure_owner_role(conn, APP_USER, str(data["app_password"]))
                exists = await conn.fetchval(
                    "SELECT 1 FROM pg_database WHERE datname = $1", DB_NAME)
                if not exists:
                    await conn.execute(f'CREATE DATABASE "{DB_NAME}" OWNER "{APP_USER}"')
            finally:
                await conn.close()
            conn = await asyncpg.connect(self.admin_url(DB_NAME))
            try:
                async with conn.transaction():
                    await hand_over(conn, APP_USER)
            finally:
                await conn.close()

        run_coroutine_sync(ensure())

    def stop(self, mode: str = "fast") -> None:
        """Stop the server if it runs; safe to call twice."""
        if not self.initialised or not self.is_running():
            return
        self._run([str(find_pg_bin(self.pg_bin) / "pg_ctl"), "-D", str(self.pgdata), "-m", mode,
                   "-w", "stop"])

    def destroy(self) -> None:
        """Stop and delete the cluster (used by tests)."""
        with contextlib.suppress(EmbeddedPostgresError):
            self.stop("immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)
