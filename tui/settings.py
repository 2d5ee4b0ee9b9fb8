"""The console's settings (`pantau console`, `pantau wall-term`), declared once.

The console is a client and imports nothing of the server, so its settings are
their own class (as Posting keeps its `config.py`): read once by the command
that starts it, with the command's flags on top, and handed to the app. Code
called without them (a test, a library caller) reads a fresh `ConsoleSettings()`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOM_TZ = "Asia/Jakarta"


def default_config_dir() -> Path:
    """`$XDG_CONFIG_HOME/pantau` (`~/.config/pantau`)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pantau"


class ConsoleSettings(BaseSettings):
    """What the console and the terminal wall need on the operator's machine."""

    model_config = SettingsConfigDict(env_prefix="PANTAU_", extra="forbid",
                                      env_ignore_empty=True, validate_default=True,
                                      use_attribute_docstrings=True)

    config_dir: Path = Field(default_factory=default_config_dir)
    """Where the console keeps the sign-in token (`token.json`, mode 0600) and the
    optional `keymap.toml` (`~/.config/pantau`)."""

    tz: str = ROOM_TZ
    """The room's time zone (an IANA name), whatever the machine's clock says."""

    lang: Literal["en", "id"] | None = None
    """`en` or `id` for this run only (`--lang`); unset: the signed-in person's (or
    the wall's monitor's) language as the server keeps it."""

    wall_token: SecretStr | None = None
    """`pantau wall-term`: a paired wall display's credential (`--wall-token`);
    unset: the console's sign-in."""

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be a time zone name such as Asia/Jakarta") from None
        return value
