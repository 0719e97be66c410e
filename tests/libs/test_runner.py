"""The service runner on real PostgreSQL and NATS: the ops server answers health, readiness
(PostgreSQL on the pool or on a connection of its own, and NATS) and metrics while the
service runs; SIGTERM stops it in order, its parts first, then NATS and the pool."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass

import httpx
import nats
import pytest

from telecast_devenv.platform import free_port
from telecast_libs.pg import open_pool
from telecast_libs.runner import readiness_checks, run_service


@dataclass
class Settings:
    metrics_host: str
    metrics_port: int
    telecast_namespace: str


@pytest.mark.parametrize("own_connection", [False, True])
async def test_a_service_runs_ready_until_sigterm_then_stops_in_order(
    database_url: str, nats_url: str, own_connection: bool
) -> None:
    pool = await open_pool(database_url, max_size=2, name="runner-test")
    nc = await nats.connect(nats_url)
    port = free_port()
    steps: list[str] = []

    async def start() -> None:
        steps.append("start")

    async def stop() -> None:
        steps.append(f"stop (nats connected: {nc.is_connected})")

    running = asyncio.create_task(
        run_service(
            "runner_test",
            Settings(metrics_host="127.0.0.1", metrics_port=port, telecast_namespace="t"),
            pool,
            nc,
            start=start,
            stop=stop,
            ready_on_own_connection_to=database_url if own_connection else None,
        )
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(100):
            if steps:
                break
            await asyncio.sleep(0.05)
        assert (await http.get("/health")).json() == {"status": "ok"}
        ready = await http.get("/ready")
        assert ready.status_code == 200
        assert ready.json() == {"ready": True, "checks": {"postgres": "ok", "nats": "ok"}}
        assert (await http.get("/metrics")).status_code == 200

    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(running, 10)
    assert steps == ["start", "stop (nats connected: True)"]
    assert nc.is_closed
    assert pool.closed


async def test_readiness_fails_without_nats(database_url: str, nats_url: str) -> None:
    pool = await open_pool(database_url, max_size=1, name="runner-test")
    nc = await nats.connect(nats_url)
    await nc.close()
    checks = readiness_checks(pool, nc)
    await checks["postgres"]()
    with pytest.raises(ConnectionError):
        await checks["nats"]()
    await pool.close()
