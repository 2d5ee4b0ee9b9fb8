"""Settings are declared once, documented in the README, read once, and a bad value
is one line: the README's configuration table matches the settings classes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from db.settings import SettingsError, env_name
from server.cli import main
from server.settings import Settings
from tests.conftest import PROJECT_ROOT
from tui.settings import ConsoleSettings

CLASSES = (Settings, ConsoleSettings)
PANTAU = str(Path(sys.executable).parent / "pantau")


def readme_table() -> dict[str, tuple[str, str, str]]:
    """README `## Configuration` rows: variable -> (flag, default, meaning)."""
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str, str]] = {}
    for line in section.splitlines():
        m = re.match(r"\| `([A-Z0-9_]+)` \|(.*?)\|(.*?)\|(.*)\|$", line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} has two rows in the README"
            rows[m.group(1)] = (m.group(2).strip(), m.group(3).strip(), m.group(4).strip())
    assert rows, "no configuration table found in the README"
    return rows


def settings_fields() -> dict[str, tuple[type, str]]:
    """Every variable a settings class reads -> (class, field)."""
    out: dict[str, tuple[type, str]] = {}
    for cls in CLASSES:
        for name in cls.model_fields:
            out.setdefault(env_name(cls, name), (cls, name))
    return out


def option_envvars() -> dict[str, str]:
    """Variables read by a command's own option (a credential for one command)."""
    found: dict[str, str] = {}

    def walk(command: click.Command, path: str) -> None:
        for param in command.params:
            for var in ([param.envvar] if isinstance(param.envvar, str)
                        else list(param.envvar or [])):
                found[var] = path
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(main, "pantau")
    return found


def test_every_setting_has_a_readme_row_with_its_default_and_no_row_is_stale() -> None:
    rows = readme_table()
    fields = settings_fields()
    options = option_envvars()
    missing = sorted(set(fields) - set(rows))
    assert not missing, f"settings without a row in the README's configuration table: {missing}"
    missing_options = sorted(set(options) - set(rows))
    assert not missing_options, f"option variables not in the README: {missing_options}"
    stale = sorted(set(rows) - set(fields) - set(options))
    assert not stale, f"README rows that no setting or option reads: {stale}"
    for var, (cls, name) in fields.items():
        field = cls.model_fields[name]
        assert field.description, f"{cls.__name__}.{name} has no docstring"
        default = field.default
        if isinstance(default, bool) or default is None or default in ("", (), frozenset()):
            continue
        if isinstance(default, int | float | str):
            shown = f"{default:g}" if isinstance(default, float) else str(default)
            assert f"`{shown}`" in rows[var][1], \
                f"README says {var} defaults to {rows[var][1]!r}; the code says {shown!r}"


def test_settings_docstrings_are_the_field_descriptions() -> None:
    """pydantic keeps an attribute's docstring as its description (use_attribute_docstrings)."""
    assert "listens" in (Settings.model_fields["port"].description or "")


def test_no_module_reads_a_pantau_variable_but_the_settings() -> None:
    """Read once: the environment is read by the settings classes, nowhere else."""
    allowed = {Path("db/settings.py"), Path("tui/settings.py")}
    pattern = re.compile(r"(environ|getenv)[^\n]*(PANTAU_|DATABASE_URL)")
    offenders = []
    for package in ("db", "server", "streams", "tui", "lang"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            rel = path.relative_to(PROJECT_ROOT)
            if rel in allowed:
                continue
            text = path.read_text()
            if pattern.search(text) or re.search(r"environ\[[^\]]*\]\s*=", text):
                offenders.append(str(rel))
    assert not offenders, f"read or changed the environment outside the settings: {offenders}"


def test_flags_sit_on_top_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_PORT", "9001")
    monkeypatch.setenv("PANTAU_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/24")
    monkeypatch.setenv("PANTAU_CITY_HOLIDAYS", "2026-12-24")
    monkeypatch.setenv("PANTAU_HOST", "")  # empty is unset
    assert Settings().port == 9001 and Settings(port=9002).port == 9002
    s = Settings()
    assert s.host == "127.0.0.1"
    assert [str(n) for n in s.trusted_proxies] == ["10.0.0.1/32", "192.168.0.0/24"]
    assert {d.isoformat() for d in s.city_holidays} == {"2026-12-24"}
    assert s.from_environment() >= {"port", "trusted_proxies", "city_holidays"}


@pytest.mark.parametrize(("var", "value", "said"), [
    ("PANTAU_PORT", "eighty", "PANTAU_PORT: Input should be a valid integer"),
    ("PANTAU_PORT", "70000", "PANTAU_PORT: Input should be less than or equal to 65535"),
    ("PANTAU_REPLAY_WINDOW", "-1", "PANTAU_REPLAY_WINDOW: Input should be greater than or"),
    ("PANTAU_RATE_LAPOR", "often", "PANTAU_RATE_LAPOR: must look like '5/minute;20/hour'"),
    ("PANTAU_TRUSTED_PROXIES", "10.0.0.300", "PANTAU_TRUSTED_PROXIES: must list addresses"),
    ("PANTAU_ALARM_TICK", "0", "PANTAU_ALARM_TICK: Input should be greater than 0"),
    ("PANTAU_TZ", "Mars/Olympus", "PANTAU_TZ: must be a time zone name"),
    ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: must start with postgres://"),
    ("PANTAU_LOG_FORMAT", "xml", "PANTAU_LOG_FORMAT: Input should be 'json' or 'text'"),
])
def test_a_bad_value_is_one_line_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, var: str, value: str, said: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as caught:
        Settings()
    message = str(caught.value.code)
    assert said in message and "\n" not in message, message


def pantau_config(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("PANTAU_") and k != "DATABASE_URL"}
    return subprocess.run([PANTAU, "config", *args], capture_output=True, text=True,
                          env=clean | env, cwd=PROJECT_ROOT, timeout=60)


def test_pantau_config_says_where_each_value_came_from_and_masks_secrets(
        tmp_path: Path) -> None:
    key = "k" * 43 + "="
    out = pantau_config(
        "--host", "0.0.0.0", "--lang", "id",
        DATABASE_URL="postgresql://app:hunter2@db.example:5433/pantau",
        PANTAU_DATA_DIR=str(tmp_path), PANTAU_PORT="9005", PANTAU_SECRET_KEY=key,
        PANTAU_WALL_TOKEN="wall-secret-token")
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line.split() for line in out.stdout.splitlines()}
    assert lines["PANTAU_HOST"][1:] == ["0.0.0.0", "flag"]
    assert lines["PANTAU_PORT"][1:] == ["9005", "environment"]
    assert lines["PANTAU_SIGNIN_WORKERS"][1:] == ["1", "default"]
    assert lines["PANTAU_LANG"][1:] == ["id", "flag"]
    assert lines["DATABASE_URL"][1:] == ["postgres://app:********@db.example:5433/pantau",
                                         "environment"]
    assert lines["PANTAU_SECRET_KEY"][-1] == "environment"
    for secret in ("hunter2", key, "wall-secret-token"):
        assert secret not in out.stdout
    # The server key from its file, and the address a running `pantau up` recorded.
    (tmp_path / "secret-key").write_text(key + "\n")
    (tmp_path / "server.json").write_text(f'{{"url": "http://127.0.0.1:9123", '
                                          f'"pid": {os.getpid()}}}')
    out = pantau_config(PANTAU_DATA_DIR=str(tmp_path))
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line.split() for line in out.stdout.splitlines()}
    assert lines["PANTAU_SECRET_KEY"][-1] == "file" and key not in out.stdout
    assert lines["PANTAU_SERVER"][1:] == ["http://127.0.0.1:9123", "file"]


def test_pantau_config_refuses_a_bad_value_in_one_line() -> None:
    out = pantau_config(PANTAU_PORT="eighty")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "Error: PANTAU_PORT: Input should be a valid integer, unable to parse string as an"
        " integer, got 'eighty'"]
