"""The database's settings: where Postgres is, where the private data lives, the server key.

Declared once here, read once by the process (the CLI, `pantau serve`, a test)
and passed down; `server.settings.Settings` extends this class with what the
server itself needs, so every `pantau` command reads one object. A function of
`db/` that is called without settings (a migration, a library caller) reads a
fresh `DatabaseSettings()`: the same declaration, the same defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from db.embedded import default_data_dir

ENV_PREFIX = "PANTAU_"


class SettingsError(SystemExit):
    """A setting with a value it cannot take: one line for the user, exit status 1."""


def env_name(cls: type[BaseSettings], field: str) -> str:
    """The environment variable a field is read from (its alias, else PANTAU_<NAME>)."""
    alias = cls.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        first = alias.choices[0]
        return str(first)
    if isinstance(alias, str):
        return alias
    prefix = cls.model_config.get("env_prefix", "")
    return f"{prefix}{field}".upper()


def set_in_environment(cls: type[BaseSettings]) -> set[str]:
    """The fields of `cls` whose variable is set (non-empty) in the environment."""
    given = {k.upper() for k, v in os.environ.items() if v.strip()}
    return {name for name in cls.model_fields if env_name(cls, name).upper() in given}


def one_line(cls: type[BaseSettings], exc: ValidationError) -> str:
    """A validation error as one line naming the variable, e.g.
    `pantau: PANTAU_PORT must be a whole number from 0 to 65535, got 'abc'`."""
    parts = []
    for err in exc.errors():
        loc = err.get("loc") or ("?",)
        name = str(loc[0])
        var = env_name(cls, name) if name in cls.model_fields else name
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        given = err.get("input")
        shown = f", got {given!r}" if isinstance(given, str | int | float) else ""
        parts.append(f"{var}: {message}{shown}")
    return "pantau: " + "; ".join(parts)


class PantauSettings(BaseSettings):
    """Base of every settings class: PANTAU_ prefix, unknown keywords refused, and
    a bad value stops the process with one line (SettingsError) instead of a
    traceback."""

    # An empty variable counts as unset (`PANTAU_PORT=` is the default port).
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid",
                                      env_ignore_empty=True, validate_by_name=True,
                                      validate_default=True, use_attribute_docstrings=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(one_line(type(self), exc)) from None

    def from_environment(self) -> set[str]:
        """The fields whose variable is set (non-empty) in this process's environment."""
        return set_in_environment(type(self))


class DatabaseSettings(PantauSettings):
    """What `db/` needs: the database, the private cluster, the server key."""


    database_url: str = Field("", validation_alias="DATABASE_URL")
    """Postgres URL (`postgres://user:password@host:5432/pantau`); empty: the private
    cluster of `pantau up` in the data directory."""

    data_dir: Path = Field(default_factory=default_data_dir)
    """The private cluster, its passwords, the server key file, device secrets and
    `pantau up`'s lock and address (`~/.local/share/pantau`; as root `/var/lib/pantau`)."""

    pg_bin: Path | None = None
    """PostgreSQL server binaries for the private cluster; unset: the first of
    `/usr/lib/postgresql/{17,16,15}/bin`, else `pg_ctl` on PATH."""

    db_pool_size: int = Field(20, ge=1, validation_alias="PANTAU_DB_POOL")
    """The server's connection pool size."""

    secret_key: SecretStr | None = None
    """The server key that seals device secrets (comma-separated, newest first);
    unset: the key file `secret-key` in the data directory, made when the first
    device is enrolled."""

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        from db.config import DatabaseUnavailable, validate_url

        value = value.strip()
        if not value:
            return ""
        try:
            return validate_url(value)
        except DatabaseUnavailable as exc:
            raise ValueError(str(exc).removeprefix("DATABASE_URL ")) from None

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("secret_key")
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @property
    def secret_keys(self) -> str:
        """PANTAU_SECRET_KEY as given ('' when the key file is used)."""
        return self.secret_key.get_secret_value().strip() if self.secret_key else ""
