"""The telecast services as real processes, for end-to-end tests, crash tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from telecast_devenv.schemas import history
from telecast_libs.migrations import migrate

MODULES = {
    "gateway": "telecast_gateway",
    "campaign": "telecast_campaign",
    "projection": "telecast_projection",
    "dispatcher": "telecast_dispatcher",
    # Development only: plays Telegram for the dispatcher (docs/telegram-simulator.md).
    "telegram_sim": "telecast_telegram_sim",
}

# The services listen on loopback, and so do the receivers tests and benchmarks start for
# webhooks: let the dispatcher deliver there.
WEBHOOK_ALLOWED_HOSTS = "127.0.0.1:*,localhost:*"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """One service process: started, killed, restarted, with its log in a file. ``module``
    is what runs (by default the service ``name`` names); a replica has a name of its own."""

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        port: int,
        log_dir: Path,
        module: str | None = None,
    ) -> None:
        self.name = name
        self.module = module or MODULES[name]
        self.env = env
        self.port = port
        self.log_dir = log_dir
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, **extra_env: str) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env={**self.env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush; exactly what a crash looks like."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/ready"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Platform:
    """gateway + campaign + projection + dispatcher against one database and one NATS
    namespace, and the Telegram simulator the dispatcher sends through (started first).
    ``env`` adds to (or overrides) every service's environment, the simulator's too."""

    def __init__(
        self,
        database_url: str,
        nats_url: str,
        namespace: str,
        log_dir: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.nats_url = nats_url
        self.namespace = namespace
        # Distinct ports: the kernel may hand the same free port out twice, and a service
        # whose port another one took would look ready through the other's /ready.
        self._ports: set[int] = set()
        ports = {name: self._port() for name in MODULES}
        self.telegram_sim_address = f"127.0.0.1:{self._port()}"
        # The gateway's operations port (/metrics); its API is on the service's port.
        self.gateway_metrics_port = self._port()
        base_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "NATS_URL": nats_url,
            # Tests, benchmarks and the demo run on the development defaults (secrets, the
            # bootstrap administrator's password); a test of production sets its own.
            "TELECAST_ENV": "development",
            "TELECAST_NAMESPACE": namespace,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
            "TELECAST_FAILPOINTS": "",
            "WEBHOOK_ALLOWED_HOSTS": WEBHOOK_ALLOWED_HOSTS,
            **(env or {}),
        }
        self.services = {
            "telegram_sim": Service(
                "telegram_sim",
                {
                    **base_env,
                    "TELEGRAM_SIM_PORT": self.telegram_sim_address.rpartition(":")[2],
                    "METRICS_PORT": str(ports["telegram_sim"]),
                },
                ports["telegram_sim"],
                log_dir,
            ),
            "gateway": Service(
                "gateway",
                {
                    **base_env,
                    "GATEWAY_PORT": str(ports["gateway"]),
                    "METRICS_PORT": str(self.gateway_metrics_port),
                },
                ports["gateway"],
                log_dir,
            ),
            "campaign": Service(
                "campaign",
                {**base_env, "METRICS_PORT": str(ports["campaign"])},
                ports["campaign"],
                log_dir,
            ),
            "projection": Service(
                "projection",
                {**base_env, "METRICS_PORT": str(ports["projection"])},
                ports["projection"],
                log_dir,
            ),
            "dispatcher": Service(
                "dispatcher",
                {
                    **base_env,
                    "METRICS_PORT": str(ports["dispatcher"]),
                    # This platform's simulator, unless the test names another.
                    "TELEGRAM_SIMULATOR_ADDRESS": (env or {}).get(
                        "TELEGRAM_SIMULATOR_ADDRESS", self.telegram_sim_address
                    ),
                    # Tracked links lead to this platform's gateway, unless the test says.
                    "TRACKING_BASE_URL": (env or {}).get(
                        "TRACKING_BASE_URL", f"http://127.0.0.1:{ports['gateway']}"
                    ),
                },
                ports["dispatcher"],
                log_dir,
            ),
        }
        self.base_url = f"http://127.0.0.1:{ports['gateway']}"

    def _port(self) -> int:
        port = free_port()
        while port in self._ports:
            port = free_port()
        self._ports.add(port)
        return port

    def __getitem__(self, name: str) -> Service:
        return self.services[name]

    def add_replica(self, service: str, name: str) -> Service:
        """Another process of ``service`` (same environment, a metrics port of its own),
        known to the platform as ``name``: stopped with it and in its logs; started with
        it if the platform has not started yet, else by the caller (``start()``)."""
        assert name not in self.services, f"{name} exists"
        original = self.services[service]
        port = self._port()
        replica = Service(
            name,
            {**original.env, "METRICS_PORT": str(port)},
            port,
            original.log_dir,
            module=original.module,
        )
        self.services[name] = replica
        return replica

    def start(self) -> None:
        # The deployment's step before any service starts (services only check the version),
        # in each one's database (a test may give the simulator another).
        for service in self.services.values():
            migrate(service.env["DATABASE_URL"], history(service.module))
        simulator = self.services["telegram_sim"]
        simulator.start()
        simulator.wait_ready()
        for service in self.services.values():
            if service is not simulator:
                service.start()
        for service in self.services.values():
            service.wait_ready()

    def stop(self) -> None:
        # The simulator last: the dispatcher may still be sending while it stops.
        for service in reversed(list(self.services.values())):
            service.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.log_tail()}" for s in self.services.values())
