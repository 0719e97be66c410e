"""A fresh simulator process per test (its limits and flood waits live in memory), all
recording into the session's database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.telegram_sim import SimulatorProcess, StartSimulator


@pytest.fixture
def start_simulator(database_url: str, tmp_path: Path) -> Iterator[StartSimulator]:
    """``start_simulator(TELEGRAM_SIM_ACCOUNT_RATE="5", …)``: a running, ready simulator."""
    started: list[SimulatorProcess] = []

    def start(**env: str) -> SimulatorProcess:
        process = SimulatorProcess(database_url, tmp_path, **env)
        started.append(process)
        process.start()
        process.wait_ready()
        return process

    try:
        yield start
    except BaseException:
        for process in started:
            print(process.log_tail())
        raise
    finally:
        for process in started:
            process.stop()
