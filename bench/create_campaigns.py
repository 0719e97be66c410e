"""Create-campaign throughput, measured at three depths so that the limit can be located:

- the event store alone (``Campaigns.handle`` with batches, in this process);
- the command path over NATS (request → campaign service → batched commit → reply);
- the whole HTTP path (gateway → command → relay → JetStream → projection; a create is
  answered once the campaign is readable).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aiohttp
import msgspec
import nats

from bench.figures import Throughput
from telecast_libs.command_signing import DEV_GATEWAY_SIGNING_KEY, GATEWAY, CommandSigner
from telecast_libs.contracts.messages import CreateCampaign
from telecast_libs.subjects import subjects_for

CONTENT = {
    "name": "Black Friday Campaign",
    "description": "Massive discounts for Black Friday",
    "type": "message",
    "goals": {"targetAudience": 20000, "conversionRate": 10, "revenue": 100000},
    "targetAudience": {"segments": ["seg789"], "filters": {"location": ["US"]}},
    "messages": [{"templateId": "tmpl456", "personalization": {"enabled": True}}],
    "budget": 10000,
    "startDate": "2024-11-24T00:00:00Z",
    "endDate": "2024-11-30T23:59:59Z",
}
META = {"actor": {"id": "bench"}, "correlationId": uuid.uuid4().hex}


def event_store(database_url: str, batch: int, seconds: float) -> Throughput:
    """Creates decided and saved ``batch`` per transaction by the campaign Application."""
    from telecast_campaign.bootstrap import build_application

    app = build_application(database_url)
    command = msgspec.convert(
        {"kind": "campaign.create", "meta": META, "content": CONTENT}, CreateCampaign
    )
    latencies: list[float] = []
    done = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    try:
        while time.perf_counter() < deadline:
            begun = time.perf_counter()
            app.handle([command] * batch)
            latencies.append(time.perf_counter() - begun)
            done += batch
    finally:
        app.close()
    return Throughput(done, time.perf_counter() - started, latencies)


async def command_path(nats_url: str, namespace: str, clients: int, seconds: float) -> Throughput:
    """Create commands over NATS request/reply, ``clients`` at a time."""
    subject = subjects_for(namespace).command("campaign.create")
    body = json.dumps({"kind": "campaign.create", "meta": META, "content": CONTENT}).encode()
    # As the gateway sends it (the benchmarks' platform runs in development, on its key).
    signer = CommandSigner(GATEWAY, DEV_GATEWAY_SIGNING_KEY)
    nc = await nats.connect(nats_url)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> int:
        done = 0
        while time.perf_counter() < deadline:
            begun = time.perf_counter()
            reply = await nc.request(subject, body, timeout=30, headers=signer.sign(subject, body))
            if not json.loads(reply.data)["ok"]:
                raise RuntimeError(reply.data)
            latencies.append(time.perf_counter() - begun)
            done += 1
        return done

    started = time.perf_counter()
    try:
        counts = await asyncio.gather(*(client() for _ in range(clients)))
    finally:
        await nc.close()
    return Throughput(sum(counts), time.perf_counter() - started, latencies)


async def login(base_url: str) -> str:
    async with aiohttp.ClientSession(base_url) as http:
        credentials = {"email": "admin@telecast.local", "password": "telecast"}
        async with http.post("/api/v1/auth/login", json=credentials) as answer:
            answer.raise_for_status()
            return (await answer.json())["data"]["accessToken"]


async def http_path(base_url: str, token: str, clients: int, seconds: float) -> Throughput:
    """POST /api/v1/campaigns, ``clients`` at a time (aiohttp: a light load generator)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base_url, headers=headers, connector=connector) as http:

        async def client() -> int:
            done = 0
            while time.perf_counter() < deadline:
                begun = time.perf_counter()
                async with http.post("/api/v1/campaigns", json=CONTENT) as answer:
                    await answer.read()
                    if answer.status != 201:
                        raise RuntimeError(f"create answered {answer.status}")
                latencies.append(time.perf_counter() - begun)
                done += 1
            return done

        started = time.perf_counter()
        counts = await asyncio.gather(*(client() for _ in range(clients)))
    return Throughput(sum(counts), time.perf_counter() - started, latencies)
