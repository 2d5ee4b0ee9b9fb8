"""The `pantau` command line as a user runs it: help everywhere, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

PANTAU = str(Path(sys.executable).parent / "pantau")


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PANTAU_LOG_FORMAT": "text", **(env or {})}
    return subprocess.run([PANTAU, *args], capture_output=True, text=True, env=full_env,
                          input=input, timeout=timeout)


def _commands() -> list[list[str]]:
    from server.cli import main

    found: list[list[str]] = []

    def walk(group: object, prefix: list[str]) -> None:
        for name, cmd in getattr(group, "commands", {}).items():
            found.append([*prefix, name])
            walk(cmd, [*prefix, name])

    walk(main, [])
    return found


@pytest.mark.parametrize("command", [[], *_commands()], ids=lambda c: " ".join(c) or "pantau")
def test_every_command_has_help(command: list[str]) -> None:
    from click.testing import CliRunner

    from server.cli import main

    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize("url, expect", [
    ("mysql://u@h/db", "must start with postgres://"),
    ("postgres://u@/db", "must name a host and a database"),
    ("postgres://u:p@127.0.0.1:1/db", "cannot reach Postgres at postgres://u@127.0.0.1:1/db"),
])
def test_bad_database_url_is_one_clear_line(url: str, expect: str) -> None:
    proc = run("db", "upgrade", env={"DATABASE_URL": url})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and ":p@" not in proc.stderr


def test_wrong_password_is_one_clear_line(db_url: str) -> None:
    parts = urlsplit(db_url)
    bad = db_url.replace(f":{parts.password}@", ":wrong@", 1)
    proc = run("db", "status", env={"DATABASE_URL": bad})
    assert proc.returncode == 1 and "refused the password" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_db_status_and_upgrade_on_a_current_database(db_url: str) -> None:
    proc = run("db", "upgrade", env={"DATABASE_URL": db_url})
    assert proc.returncode == 0 and "up to date" in proc.stdout
    proc = run("db", "status", env={"DATABASE_URL": db_url})
    assert proc.returncode == 0 and "0001_initial: applied" in proc.stdout


def test_user_add_list_disable(db_url: str) -> None:
    env = {"DATABASE_URL": db_url, "PANTAU_NEW_PASSWORD": "a-long-password"}
    proc = run("user", "add", "nina", "--name", "Nina Ahli", "--role", "expert", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "created nina (expert)" in proc.stdout
    proc = run("user", "add", "nina", "--name", "Again", "--role", "expert", env=env)
    assert proc.returncode == 1 and "taken" in proc.stderr
    proc = run("user", "add", "dina", "--name", "Dina", "--role", "department", env=env)
    assert proc.returncode == 1 and "need a department" in proc.stderr
    proc = run("user", "list", "--role", "expert", env=env)
    assert "nina" in proc.stdout and "operator" not in proc.stdout
    proc = run("user", "disable", "nina", input="y\n", env=env)
    assert proc.returncode == 0 and "disabled nina" in proc.stdout
    proc = run("user", "list", "--json", env=env)
    import json

    nina = next(p for p in json.loads(proc.stdout) if p["username"] == "nina")
    assert nina["active"] is False


def test_seed_demo_is_idempotent(empty_db_url: str) -> None:
    env = {"DATABASE_URL": empty_db_url}
    first = run("seed", "demo", "--tickets", "20", env=env)
    assert first.returncode == 0, first.stderr
    assert "districts 30" in first.stdout and "tickets 20" in first.stdout
    assert "tickets" in first.stderr  # progress is shown
    second = run("seed", "demo", "--tickets", "20", env=env)
    assert second.returncode == 0 and "nothing new" in second.stdout
