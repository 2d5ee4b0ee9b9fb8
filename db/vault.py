"""Secrets at rest: the server key, kept outside the database, and what it seals.

A device secret is an HMAC key: the server needs the secret itself to check a
signature, so it cannot be stored as a one-way hash like tokens and passwords.
It is stored sealed with Fernet (AES-128-CBC + HMAC-SHA256, from the
`cryptography` package) under a server key that never enters the database, so a
dump, a backup or a replica alone reveals no secret.

The key is `PANTAU_SECRET_KEY` (comma-separated, newest first), else the file
`PANTAU_DATA_DIR/secret-key` (one key a line, newest first, mode 0600, made on
first use). MultiFernet: the first key seals, every listed key opens, so a key
is rotated without a moment in which devices fail (`pantau secrets rotate-key`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from db.settings import DatabaseSettings

log = logging.getLogger("pantau.vault")

KEY_ENV = "PANTAU_SECRET_KEY"
KEY_FILE = "secret-key"
# What a sealed value looks like (Fernet's version byte and the high bytes of its
# timestamp); migration 0018 makes the database refuse anything else.
SEALED_PREFIX = "gAAAAA"


class VaultError(RuntimeError):
    """The server key is missing, malformed, or does not open a stored secret."""


@dataclass(frozen=True)
class ServerKey:
    """The keys (newest first) and where they came from, for messages."""

    keys: tuple[str, ...]
    source: str
    _fernet: MultiFernet = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise VaultError(f"{self.source} holds no key")
        fernets = []
        for i, key in enumerate(self.keys, 1):
            try:
                fernets.append(Fernet(key))
            except ValueError as exc:
                raise VaultError(
                    f"{self.source}: key {i} is not a server key (44 characters of url-safe"
                    " base64; make one with `pantau secrets new-key`)") from exc
        object.__setattr__(self, "_fernet", MultiFernet(fernets))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise VaultError(
                f"a stored secret does not open with the server key from {self.source}: "
                "wrong key, or the key it was sealed with was removed") from None

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the newest key (raises like `open`)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise VaultError(
                f"a stored secret does not open with the server key from {self.source}") \
                from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def key_path(settings: DatabaseSettings | None = None) -> Path:
    return (settings or DatabaseSettings()).data_dir / KEY_FILE


def _parse(text: str, sep: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in text.split(sep) if k.strip() and not k.startswith("#"))


_cache: dict[tuple[object, ...], ServerKey] = {}


def server_key(settings: DatabaseSettings | None = None, *, create: bool = False
               ) -> ServerKey:
    """The server key of `settings` (the server passes its own; None: read them
    now). `create`: make the key file when there is none (for the callers that
    seal; a reader that finds no key must say so, not invent one).

    The file is re-read when it changes, so a running server follows
    `pantau secrets rotate-key` without a restart.
    """
    settings = settings or DatabaseSettings()
    env = settings.secret_keys
    if env:
        cached = _cache.get(("env", env))
        if cached is None:
            cached = _cache[("env", env)] = ServerKey(_parse(env, ","), KEY_ENV)
        return cached
    path = key_path(settings)
    try:
        st = path.stat()
    except FileNotFoundError:
        if not create:
            raise VaultError(f"no server key: {path} does not exist and {KEY_ENV} is not set"
                             " (it is made when the first device is enrolled)") from None
        _write_new(path)
        st = path.stat()
    stamp = ("file", str(path), st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _cache.get(stamp)
    if cached is None:
        if st.st_mode & 0o077:
            raise VaultError(f"{path} is readable by other users; chmod 600 it")
        cached = ServerKey(_parse(path.read_text(), "\n"), str(path))
        _cache.clear()
        _cache[stamp] = cached
    return cached


def _write_new(path: Path) -> None:
    """Make the key file once, 0600; a concurrent maker's file wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(new_key() + "\n")
        # Said out loud: on a host whose data directory does not persist (a
        # container's release phase) this key would be lost with every secret it seals.
        log.warning("made a new server key in %s: back it up apart from the database, or "
                    "set %s instead where the data directory does not persist", path, KEY_ENV)


def write_key_file(keys: tuple[str, ...], settings: DatabaseSettings | None = None) -> Path:
    """Replace the key file atomically (0600) with `keys`, newest first."""
    ServerKey(keys, "the new key list")  # validate before touching the file
    path = key_path(settings)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(k + "\n" for k in keys))
    os.replace(tmp, path)
    return path
