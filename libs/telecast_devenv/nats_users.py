"""The services' NATS users (deploy/nats/authorization.conf) on the servers devenv starts.

The server reads each user's password from NATS_<USER>_PASSWORD, and each service reads its
own from the same variable: one environment holding them all serves the server and every
service, as `make run`'s does.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

# The users of the authorization file, one per service that uses NATS.
USERS = ("gateway", "campaign", "projection", "dispatcher")
# In the repository this package is installed from (editable, as `make venv` does).
AUTHORIZATION = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "authorization.conf"


def password_variable(user: str) -> str:
    return f"NATS_{user.upper()}_PASSWORD"


def generate_passwords() -> dict[str, str]:
    """A fresh password for each user, by variable (a server that lives as long as a test).
    A letter first: nats-server reads the variable as a configuration value (NATS_PASSWORD
    in telecast_libs/settings.py)."""
    return {password_variable(user): f"p{secrets.token_hex(24)}" for user in USERS}


def kept_passwords(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each user's password: the environment's if set there, else the one kept in ``path``
    (made on first use, readable by its owner only). Kept, because a server that outlives
    the run (compose's container, left running) holds the passwords it started with."""
    env = os.environ if environ is None else environ
    kept: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = {v: p for v, p in generate_passwords().items() if v not in kept}
    if missing:
        kept.update(missing)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(kept, indent=2))
    return {variable: env.get(variable) or password for variable, password in kept.items()}
