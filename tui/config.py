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

from tui.settings import ConsoleSettings


def config_dir(directory: Path | None = None) -> Path:
    """`directory` (the app's ConsoleSettings.config_dir), else read the settings now
    (~/.config/pantau, or PANTAU_CONFIG_DIR)."""
    return directory if directory is not None else ConsoleSettings().config_dir


@dataclass
class StoredToken:
    server: str
    token: str
    expires_at: str
    username: str


def _token_path(directory: Path | None) -> Path:
    return config_dir(directory) / "token.json"


def load_token(server: str, directory: Path | None = None) -> StoredToken | None:
    """The saved token for this server, or None (missing, unreadable or another server)."""
    try:
        data = json.loads(_token_path(directory).read_text())
        stored = StoredToken(**data)
    except (OSError, ValueError, TypeError):
        return None
    return stored if stored.server == server else None


def save_token(stored: StoredToken, directory: Path | None = None) -> Path:
    """Write the token readable only by this user (0600 file in a 0700 directory)."""
    directory = config_dir(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _token_path(directory)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(stored), fh)
    os.chmod(tmp, 0o600)  # O_CREAT's mode is masked by umask; be explicit
    os.replace(tmp, path)
    return path


def clear_token(directory: Path | None = None) -> None:
    _token_path(directory).unlink(missing_ok=True)


def load_keymap(directory: Path | None = None) -> dict[str, str]:
    """Binding id -> keys from keymap.toml, e.g. `[keys]` / `"queue.route" = "ctrl+r"`.

    A broken file is ignored rather than stopping an operator from working.
    """
    path = config_dir(directory) / "keymap.toml"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    keys = data.get("keys", data)
    return {str(k): str(v) for k, v in keys.items() if isinstance(v, str)}
