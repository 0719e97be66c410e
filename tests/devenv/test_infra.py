"""The fallback chain: environment variables win; with nothing at all, embedded servers run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import nats
import psycopg
import pytest

from telecast_devenv import containers, resolve
from telecast_devenv.net import answers


def test_environment_variables_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.invalid:5432/somewhere")
    monkeypatch.setenv("NATS_URL", "nats://nats.invalid:4222")

    infra = resolve("test", state_dir=tmp_path)
    infra.stop()

    assert infra.database_url == "postgresql://someone@db.invalid:5432/somewhere"
    assert infra.nats_url == "nats://nats.invalid:4222"
    assert (infra.postgres.source, infra.nats.source) == ("env", "env")
    assert list(tmp_path.iterdir()) == []


async def test_embedded_servers_start_from_nothing_and_stop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("NATS_URL", raising=False)

    infra = await asyncio.to_thread(resolve, "test", state_dir=tmp_path, docker=False)
    try:
        assert (infra.postgres.source, infra.nats.source) == ("embedded", "embedded")
        async with await psycopg.AsyncConnection.connect(infra.database_url) as connection:
            cursor = await connection.execute("SELECT current_setting('server_version_num')")
            row = await cursor.fetchone()
            assert row is not None and int(row[0]) >= 160000
        await _jetstream_round_trip(infra.nats_url)
    finally:
        await asyncio.to_thread(infra.stop)

    database, bus = urlsplit(infra.database_url), urlsplit(infra.nats_url)
    assert database.hostname and database.port and bus.hostname and bus.port
    assert not answers(database.hostname, database.port)
    assert not answers(bus.hostname, bus.port)


def test_the_dev_install_has_testcontainers() -> None:
    # Without it, a developer with Docker silently got the embedded servers instead.
    assert containers.testcontainers_available()


async def test_docker_containers_start_from_nothing_and_stop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not await asyncio.to_thread(containers.engine_answers):
        pytest.skip("no Docker engine answers here: the testcontainers path is not exercised")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("NATS_URL", raising=False)

    infra = await asyncio.to_thread(resolve, "test", state_dir=tmp_path)
    try:
        assert (infra.postgres.source, infra.nats.source) == ("docker", "docker")
        async with await psycopg.AsyncConnection.connect(infra.database_url) as connection:
            cursor = await connection.execute("SELECT current_setting('server_version_num')")
            row = await cursor.fetchone()
            assert row is not None and int(row[0]) >= 160000
        await _jetstream_round_trip(infra.nats_url)
    finally:
        await asyncio.to_thread(infra.stop)

    database, bus = urlsplit(infra.database_url), urlsplit(infra.nats_url)
    assert database.hostname and database.port and bus.hostname and bus.port
    assert not answers(database.hostname, database.port)
    assert not answers(bus.hostname, bus.port)


def test_an_embedded_postgres_leaves_nothing_to_log_at_exit(tmp_path: Path) -> None:
    # As under pytest: logging writes to a stream that is closed before the interpreter
    # exits. Nothing may log then (each line would be a "--- Logging error ---" traceback).
    script = textwrap.dedent(
        """
        import io, logging, sys
        from pathlib import Path
        from telecast_devenv.embedded import EmbeddedPostgres

        stream = io.StringIO()
        logging.basicConfig(level=logging.INFO, stream=stream)
        server = EmbeddedPostgres(Path(sys.argv[1]))
        server.start()
        server.stop()
        stream.close()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Logging error" not in done.stderr, done.stderr


async def _jetstream_round_trip(nats_url: str) -> None:
    connection = await nats.connect(nats_url)
    try:
        jetstream = connection.jetstream()
        await jetstream.add_stream(name="DEVENV_PROBE", subjects=["devenv.probe"])
        await jetstream.publish("devenv.probe", b"hello")
        subscription = await jetstream.pull_subscribe("devenv.probe", durable="probe")
        [message] = await subscription.fetch(1, timeout=5)
        assert message.data == b"hello"
        await message.ack()
    finally:
        await connection.close()
