"""Webhook deliveries per second, from the running dispatcher to a fast local receiver.

The outbox is seeded straight into ``dispatcher.webhook_deliveries`` (what the intake writes
for campaign events: one row per event and subscription, spread over campaigns so that
lanes run side by side), then the dispatcher's delivery worker drains it: sign, POST, record
each outcome. The receiver is a minimal aiohttp server in its own process that answers 200.

Baseline, same run: the same number of signed POSTs to the same receiver from one aiohttp
client in this process, as many at a time as the dispatcher allows one subscription, with
no database at all.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid

import aiohttp
import psycopg

from bench.create_campaigns import login
from bench.figures import Row, Throughput
from telecast_devenv.platform import Platform, free_port

DELIVERIES = 10_000
CAMPAIGNS = 1_000
# WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION's default: one subscription never has more in flight.
PER_SUBSCRIPTION = 16
TARGET = 500.0

BODY = json.dumps(
    {
        "id": "00000000-0000-0000-0000-000000000000",
        "type": "campaign.updated",
        "occurredAt": "2026-11-27T09:28:04.477105Z",
        "campaign": {
            "id": "12d6a1a4-1c0e-4c36-9a1b-3f0c3e8f7a10",
            "name": "Black Friday Campaign",
            "type": "message",
            "status": "active",
            "version": 7,
        },
        "data": {"changes": {"name": "Black Friday Campaign", "budget": 10000}},
    },
    separators=(",", ":"),
).encode()

_RECEIVER = """
import sys
from aiohttp import web

seen = set()
count = 0

async def hook(request):
    global count
    await request.read()
    count += 1
    seen.add(request.headers.get("X-Telecast-Event-Id"))
    return web.Response(text="ok")

async def stats(request):
    return web.json_response({"requests": count, "distinct": len(seen)})

app = web.Application()
app.router.add_post("/hook", hook)
app.router.add_get("/stats", stats)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


async def deliveries(platform: Platform, database_url: str) -> tuple[Row, str]:
    port = free_port()
    receiver = await asyncio.create_subprocess_exec(sys.executable, "-c", _RECEIVER, str(port))
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_for_receiver(session, url)
            baseline = await _raw_posts(session, f"{url}/hook", DELIVERIES)
            webhook_id = await _subscribe(session, platform.base_url, f"{url}/hook")
            before = await _stats(session, url)
            started, finished = await _drain(session, url, database_url, webhook_id, before)
            after = await _stats(session, url)
        p50, p99 = await _attempt_latency(database_url, webhook_id)
    finally:
        receiver.terminate()
        await receiver.wait()
    rate = DELIVERIES / (finished - started)
    requests = after["requests"] - before["requests"]
    figure = (
        f"{rate:,.0f} deliveries/s (attempt p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
        f"{requests:,} requests for {DELIVERIES:,} deliveries)"
    )
    row = Row(
        f"webhook deliveries to a local receiver, {CAMPAIGNS:,} campaigns, one subscription",
        figure,
        f"the same {DELIVERIES:,} signed POSTs from one aiohttp client, {PER_SUBSCRIPTION} at "
        f"a time, no database: {baseline.per_second:,.0f}/s",
        rate / baseline.per_second,
        f"≥ {TARGET:.0f} deliveries/s",
        rate >= TARGET and requests == DELIVERIES,
    )
    note = (
        f"Webhooks: {DELIVERIES:,} deliveries seeded into the outbox over {CAMPAIGNS:,} "
        "campaigns (each campaign's deliveries go in order, one at a time), timed from the "
        "receiver's first request until every outcome is recorded in PostgreSQL; the "
        f"dispatcher keeps at most {PER_SUBSCRIPTION} requests in flight per subscription."
    )
    return row, note


async def _wait_for_receiver(session: aiohttp.ClientSession, url: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            await _stats(session, url)
            return
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _stats(session: aiohttp.ClientSession, url: str) -> dict:
    async with session.get(f"{url}/stats") as response:
        return await response.json()


async def _subscribe(session: aiohttp.ClientSession, base_url: str, target: str) -> str:
    token = await login(base_url)
    async with session.post(
        f"{base_url}/api/v1/webhooks",
        json={"url": target, "events": ["campaign.updated"], "description": "bench"},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        answer = await response.json()
    assert response.status == 201, answer
    return answer["data"]["id"]


async def _drain(
    session: aiohttp.ClientSession, url: str, database_url: str, webhook_id: str, before: dict
) -> tuple[float, float]:
    """Seed the outbox; the moments the first request arrived and the last outcome was
    recorded."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            """
            INSERT INTO dispatcher.webhook_deliveries
                (id, subscription_id, event_id, event_type, kind, campaign_id, lane, seq, body,
                 status, round_started_at, next_attempt_at, created_at)
            SELECT gen_random_uuid(), %(webhook)s, 'bench-' || n, 'campaign.updated', 'event',
                   'c' || (n %% %(campaigns)s), 'c' || (n %% %(campaigns)s), n, %(body)s,
                   'pending', now(), now(), now()
            FROM generate_series(1, %(count)s) AS n
            """,
            {
                "webhook": uuid.UUID(webhook_id),
                "campaigns": CAMPAIGNS,
                "body": BODY,
                "count": DELIVERIES,
            },
        )
        # Each campaign's oldest delivery heads its lane, as the intake would have made it.
        await conn.execute(
            """
            UPDATE dispatcher.webhook_deliveries SET head = true
            WHERE id IN (
                SELECT DISTINCT ON (lane) id FROM dispatcher.webhook_deliveries
                WHERE subscription_id = %s ORDER BY lane, seq)
            """,
            (uuid.UUID(webhook_id),),
        )
        started = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if started is None and (await _stats(session, url))["requests"] > before["requests"]:
                started = time.monotonic()
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM dispatcher.webhook_deliveries "
                    "WHERE subscription_id = %s AND status = 'succeeded'",
                    (uuid.UUID(webhook_id),),
                )
            ).fetchone()
            if row[0] >= DELIVERIES:
                return started or time.monotonic(), time.monotonic()
            await asyncio.sleep(0.02)
    raise TimeoutError("the dispatcher did not deliver the seeded webhooks")


async def _attempt_latency(database_url: str, webhook_id: str) -> tuple[float, float]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (
            await conn.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a.latency_ms),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY a.latency_ms)"
                " FROM dispatcher.webhook_attempts a"
                " JOIN dispatcher.webhook_deliveries d ON d.id = a.delivery_id"
                " WHERE d.subscription_id = %s",
                (uuid.UUID(webhook_id),),
            )
        ).fetchone()
    return float(row[0]), float(row[1])


async def _raw_posts(session: aiohttp.ClientSession, url: str, count: int) -> Throughput:
    """``count`` signed POSTs, ``PER_SUBSCRIPTION`` at a time: the HTTP cost alone."""
    from telecast_dispatcher.webhooks.signing import signature_header

    remaining = iter(range(count))
    latencies: list[float] = []

    async def client() -> None:
        for n in remaining:
            headers = {
                "Content-Type": "application/json",
                "X-Telecast-Signature": signature_header(["whsec_bench"], int(time.time()), BODY),
                "X-Telecast-Event-Id": f"raw-{n}",
            }
            began = time.perf_counter()
            async with session.post(url, data=BODY, headers=headers) as response:
                await response.read()
            latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(PER_SUBSCRIPTION)))
    return Throughput(count, time.perf_counter() - started, latencies)
