"""The Telegram simulator as a real process for tests and benchmarks, and what they read of
its record (re-exported from ``telecast_telegram_sim``: the control client and the audit)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from telecast_devenv.platform import Service, free_port
from telecast_telegram_sim.audit import (
    SentRow,
    WindowViolation,
    duplicates_by_reference,
    duplicates_by_text,
    limit_violations,
    recorded,
    sent_messages,
    sent_rows,
)
from telecast_telegram_sim.client import SimulatorClient

__all__ = [
    "SentRow",
    "SimulatorClient",
    "SimulatorProcess",
    "StartSimulator",
    "WindowViolation",
    "duplicates_by_reference",
    "duplicates_by_text",
    "limit_violations",
    "recorded",
    "sent_messages",
    "sent_rows",
]


class SimulatorProcess(Service):
    """``python -m telecast_telegram_sim`` on free ports; ``address`` is where it listens."""

    def __init__(self, database_url: str, log_dir: Path, **env: str) -> None:
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        metrics_port = free_port()
        super().__init__(
            "telegram_sim",
            {
                **os.environ,
                "DATABASE_URL": database_url,
                "LOG_FORMAT": "json",
                "TELEGRAM_SIM_PORT": str(port),
                "METRICS_PORT": str(metrics_port),
                **env,
            },
            metrics_port,
            log_dir,
        )


# The ``start_simulator`` fixture (tests/telegram_sim/conftest.py): env -> a ready process.
StartSimulator = Callable[..., SimulatorProcess]
