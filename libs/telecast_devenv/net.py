"""TCP helpers for the development environment: free ports and readiness probes."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from typing import Any

LOOPBACK = "127.0.0.1"


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True if a server could listen on host:port now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR, so a port in TIME_WAIT is free for them too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(preferred: int | None = None, host: str = LOOPBACK) -> int:
    """The preferred port if it is free, else one the kernel picks."""
    if preferred is not None and port_is_free(preferred, host):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def nats_server_info(host: str, port: int, timeout: float = 1.0) -> dict[str, Any] | None:
    """The INFO a NATS server greets a client with, or None if none answers there."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            line = sock.makefile("rb").readline(1 << 16)
    except OSError:
        return None
    if not line.startswith(b"INFO "):
        return None
    return json.loads(line[5:])


def wait_for_jetstream(
    host: str,
    port: int,
    *,
    timeout: float = 30.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Wait until a NATS server with JetStream accepts clients on host:port.

    Raises RuntimeError if it does not within the timeout, if ``process`` (the server, when we
    started it) exits first, or if the server answers without JetStream.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"nats-server exited with code {process.returncode}")
        info = nats_server_info(host, port)
        if info is not None:
            if not info.get("jetstream"):
                raise RuntimeError(f"the NATS server at {host}:{port} has JetStream disabled")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no NATS server answered on {host}:{port} within {timeout:.0f}s")
        time.sleep(0.05)
