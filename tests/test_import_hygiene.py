"""The architecture's walls: the console is only a client; the server has no terminal UI;
the message catalogue (`lang`) stands apart so both may use it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT


def _modules_after_import(package: str) -> set[str]:
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, check=True)
    return set(json.loads(out.stdout))


def _top(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


def test_console_never_imports_db_tortoise_or_server() -> None:
    tops = _top(_modules_after_import("tui"))
    assert not tops & {"db", "tortoise", "server", "asyncpg"}


@pytest.mark.parametrize("package", ["server", "streams", "db"])
def test_backend_never_imports_textual(package: str) -> None:
    assert "textual" not in _top(_modules_after_import(package))


def test_catalogue_imports_neither_side() -> None:
    tops = _top(_modules_after_import("lang"))
    assert not tops & {"db", "tortoise", "server", "tui", "textual", "asyncpg", "aiohttp"}
