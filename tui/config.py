"""Where the console keeps its state on the operator's machine.

Only two small files, both in the user's config directory: the sign-in token
(mode 0600, so nobody else on a shared jump host can reuse it) and an optional
keymap that remaps bindings by their id.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path


def config_dir() -> Path:
    """~/.config/pantau, honouring PANTAU_CONFIG_DIR (tests) and XDG_CONFIG_HOME."""
    explicit = os.environ.get("PANTAU_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pantau"


@dataclass
class StoredToken:
    server: str
    token: str
    expires_at: str
    username: str


def _token_path() -> Path:
    return config_dir() / "token.json"


def load_token(server: str) -> StoredToken | None:
    """The saved token for this server, or None (missing, unreadable or another server)."""
    try:
        data = json.loads(_token_path().read_text())
        stored = StoredToken(**data)
    except (OSError, ValueError, TypeError):
        return None
    return stored if stored.server == server else None


def save_token(stored: StoredToken) -> Path:
    """Write the token readable only by this user (0600 file in a 0700 directory)."""
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _token_path()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(stored), fh)
    os.chmod(tmp, 0o600)  # O_CREAT's mode is masked by umask; be explicit
    os.replace(tmp, path)
    return path


def clear_token() -> None:
    _token_path().unlink(missing_ok=True)


def load_keymap() -> dict[str, str]:
    """Binding id -> keys from keymap.toml, e.g. `[keys]` / `"queue.route" = "ctrl+r"`.

    A broken file is ignored rather than stopping an operator from working.
    """
    path = config_dir() / "keymap.toml"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    keys = data.get("keys", data)
    return {str(k): str(v) for k, v in keys.items() if isinstance(v, str)}
