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


async def jetstream_round_trip(
    nats_url: str, namespace: str, count: int, size: int
) -> tuple[float, float]:
    """Seconds to publish ``count`` messages of ``size`` bytes into a fresh file stream
    (pipelined ``publish_async``, each with a ``Nats-Msg-Id`` as the ledger's events carry),
    then to consume them all with a pull consumer (fetch in batches, ack each); as
    (publish seconds, consume seconds). The stream is deleted afterwards."""
    import nats
    from nats.js.api import ConsumerConfig, RetentionPolicy, StorageType, StreamConfig

    name = f"{namespace.upper()}_BENCH_RAW"
    subject = f"{namespace}.bench.raw"
    payload = b"x" * size
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(
                name=name,
                subjects=[subject],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                duplicate_window=600.0,
            )
        )
        started = time.perf_counter()
        acks = [
            await js.publish_async(subject, payload, headers={"Nats-Msg-Id": f"raw-{n}"})
            for n in range(count)
        ]
        await asyncio.gather(*acks)
        published = time.perf_counter()
        subscription = await js.pull_subscribe(
            subject, "bench_raw", stream=name, config=ConsumerConfig(max_ack_pending=-1)
        )
        consumed = 0
        while consumed < count:
            for message in await subscription.fetch(min(1000, count - consumed), timeout=10):
                await message.ack()
                consumed += 1
        finished = time.perf_counter()
        await js.delete_stream(name)
        return published - started, finished - published
    finally:
        await nc.close()
