"""PostgreSQL and NATS from a Docker engine: docker compose for ``make run``, testcontainers
for the tests."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from telecast_devenv.net import LOOPBACK, wait_for_jetstream

POSTGRES_IMAGE = "postgres:16"
NATS_IMAGE = "nats:2.14-alpine"
POSTGRES_PORT = 5432
NATS_PORT = 4222


def engine_answers(timeout: float = 3.0) -> bool:
    """True if a Docker engine answers the docker client within the timeout."""
    return _succeeds(["docker", "info", "--format", "{{.ServerVersion}}"], timeout)


def compose_available() -> bool:
    """True if the docker client has the compose plugin (v2, which knows ``up --wait``)."""
    return _succeeds(["docker", "compose", "version"], 10.0)


def testcontainers_available() -> bool:
    return importlib.util.find_spec("testcontainers") is not None


def compose_up(
    compose_file: Path, services: list[str], environment: Mapping[str, str]
) -> dict[str, str]:
    """Start the compose services, wait until healthy, and return their URLs by service.
    ``environment`` adds to ours the variables the file reads (the NATS users' passwords)."""
    base = ["docker", "compose", "--file", str(compose_file)]
    env = {**os.environ, **environment}
    _run([*base, "up", "--detach", "--wait", *services], "docker compose up", env)
    config = json.loads(_run([*base, "config", "--format", "json"], "docker compose config", env))
    urls = {}
    if "postgres" in services:
        urls["postgres"] = compose_postgres_url(config)
    if "nats" in services:
        urls["nats"] = compose_nats_url(config)
        host, port = _published(config["services"]["nats"], NATS_PORT)
        wait_for_jetstream(host, port)
    return urls


def compose_postgres_url(config: dict[str, Any]) -> str:
    """The URL of the compose ``postgres`` service, from ``docker compose config`` output."""
    service = config["services"]["postgres"]
    environment = service.get("environment") or {}
    user = environment.get("POSTGRES_USER") or "postgres"
    password = environment.get("POSTGRES_PASSWORD") or ""
    # The image creates POSTGRES_DB, by default named after the user.
    database = environment.get("POSTGRES_DB") or user
    host, port = _published(service, POSTGRES_PORT)
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return f"postgresql://{credentials}@{host}:{port}/{quote(database, safe='')}"


def compose_nats_url(config: dict[str, Any]) -> str:
    """The URL of the compose ``nats`` service, from ``docker compose config`` output."""
    host, port = _published(config["services"]["nats"], NATS_PORT)
    return f"nats://{host}:{port}"


class PostgresContainer:
    """A throwaway PostgreSQL container for one test session."""

    def __init__(self) -> None:
        from testcontainers.community.postgres import PostgresContainer as Container

        self._container = Container(POSTGRES_IMAGE, driver=None)

    def start(self) -> str:
        self._container.start()
        return self._container.get_connection_url()

    def stop(self) -> None:
        self._container.stop()


class NatsContainer:
    """A throwaway NATS container with JetStream for one test session."""

    def __init__(self) -> None:
        from testcontainers.core.container import DockerContainer

        self._container = (
            DockerContainer(NATS_IMAGE).with_command("--jetstream").with_exposed_ports(NATS_PORT)
        )

    def start(self) -> str:
        self._container.start()
        host = self._container.get_container_host_ip()
        port = int(self._container.get_exposed_port(NATS_PORT))
        wait_for_jetstream(host, port)
        return f"nats://{host}:{port}"

    def stop(self) -> None:
        self._container.stop()


def _published(service: dict[str, Any], target: int) -> tuple[str, int]:
    """Where the host reaches a container port, from the normalised (long) ports syntax."""
    for port in service.get("ports") or []:
        if int(port["target"]) == target and port.get("published"):
            host = port.get("host_ip") or LOOPBACK
            return (LOOPBACK if host in ("0.0.0.0", "::") else host), int(port["published"])
    raise RuntimeError(f"docker-compose.yml does not publish container port {target}")


def _succeeds(command: list[str], timeout: float) -> bool:
    if shutil.which(command[0]) is None:
        return False
    try:
        completed = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False
    return completed.returncode == 0


def _run(command: list[str], what: str, env: Mapping[str, str] | None = None) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if completed.returncode != 0:
        raise RuntimeError(f"{what} failed ({completed.returncode}):\n{completed.stderr.strip()}")
    return completed.stdout
