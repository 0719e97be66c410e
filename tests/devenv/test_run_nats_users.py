"""`make run`'s own NATS has the deployment's users: a client without credentials is refused,
each service's password (kept for the next run) lets that service in."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
import nats.errors
import pytest

from telecast_devenv import resolve
from telecast_devenv.nats_users import USERS, password_variable


async def test_the_runs_embedded_nats_asks_each_service_for_its_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)
    for user in USERS:
        monkeypatch.delenv(password_variable(user), raising=False)
    # PostgreSQL as the session's: only NATS is started here.
    infra = await asyncio.to_thread(resolve, "run", state_dir=tmp_path, docker=False)
    try:
        assert infra.nats.source == "embedded"
        passwords = infra.nats.environment
        assert set(passwords) == {password_variable(user) for user in USERS}
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(infra.nats_url, allow_reconnect=False, max_reconnect_attempts=0)
        for user in USERS:
            connection = await nats.connect(
                infra.nats_url,
                user=user,
                password=passwords[password_variable(user)],
                allow_reconnect=False,
            )
            await connection.close()
    finally:
        await asyncio.to_thread(infra.stop)
    # The next run finds the same passwords (compose's container outlives a run with them).
    kept = json.loads((tmp_path / "nats-passwords.json").read_text())
    assert kept == passwords
    assert (tmp_path / "nats-passwords.json").stat().st_mode & 0o077 == 0
