"""What the benchmarked processes cost: CPU time from /proc, per service and for the servers."""

from __future__ import annotations

import os

from telecast_devenv.platform import Platform

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def pids_named(command: str) -> list[int]:
    """The processes whose command name (``/proc/<pid>/comm``) is ``command``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() == command:
                        found.append(int(entry))
            except OSError:
                continue
    return found


class CpuMeter:
    """CPU seconds used between ``start()`` and ``stop()`` by each service of a platform,
    by PostgreSQL (every ``postgres`` process) and by ``nats-server``. A PostgreSQL backend
    that ends in between takes its time with it: the PostgreSQL figure is a lower bound."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._before: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        now = {
            name: cpu_seconds(service.process.pid)
            for name, service in self.platform.services.items()
            if service.process is not None
        }
        now["postgresql"] = sum(cpu_seconds(pid) for pid in pids_named("postgres"))
        now["nats"] = sum(cpu_seconds(pid) for pid in pids_named("nats-server"))
        return now

    def start(self) -> None:
        self._before = self._now()

    def stop(self) -> dict[str, float]:
        after = self._now()
        self.used = {name: after[name] - self._before.get(name, 0.0) for name in after}
        return self.used

    def outline(self) -> str:
        return ", ".join(
            f"{name} {seconds:.1f} s"
            for name, seconds in sorted(self.used.items(), key=lambda item: -item[1])
            if seconds >= 0.05
        )
