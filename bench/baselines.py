"""Raw PostgreSQL measured in the same run: what a single-row insert and commit costs."""

from __future__ import annotations

import asyncio
import time

import psycopg

from bench.figures import Throughput


async def single_row_commits(database_url: str, clients: int, seconds: float) -> Throughput:
    """``clients`` connections each inserting one row per transaction, for ``seconds``."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_commits (id bigserial PRIMARY KEY, body jsonb)"
        )
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> int:
        done = 0
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await conn.execute(
                    "INSERT INTO bench_raw_commits (body) VALUES (%s)",
                    ('{"name": "Black Friday Campaign", "type": "message"}',),
                )
                latencies.append(time.perf_counter() - started)
                done += 1
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(client() for _ in range(clients)))
    return Throughput(sum(counts), time.perf_counter() - started, latencies)
