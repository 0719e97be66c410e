"""Where ``telecast login`` keeps the API's address and the operator's tokens.

One JSON file, ``credentials.json`` in ``$TELECAST_CONFIG_DIR`` (default
``~/.config/telecast``), readable by its owner only (0600): it holds a refresh token, which
is as good as the password for 30 days.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

CONFIG_DIR_VARIABLE = "TELECAST_CONFIG_DIR"
FILE_NAME = "credentials.json"
DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass
class Credentials:
    url: str
    email: str
    access_token: str
    refresh_token: str


def config_dir(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    configured = environ.get(CONFIG_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "telecast"


def credentials_path(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    return config_dir(environ) / FILE_NAME


def save(credentials: Credentials, path: Path) -> None:
    """Write the file with mode 0600 from its first byte (no window where another user
    could read it), replacing any earlier one whole."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(asdict(credentials), file, indent=2)
    os.chmod(temporary, 0o600)  # an older file of that name kept its mode through O_TRUNC
    os.replace(temporary, path)


def load(path: Path) -> Credentials | None:
    """The saved credentials, or None when there are none (or the file is unreadable)."""
    try:
        raw = json.loads(path.read_text())
        return Credentials(**{field: str(raw[field]) for field in Credentials.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None
