"""Create-campaign commands per second through the gateway (HTTP → NATS → event store →
relay → projection, answered once the campaign is readable)."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.figures import Throughput

BODY = {
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


async def login(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as client:
        answer = await client.post(
            "/api/v1/auth/login",
            json={"email": "admin@telecast.local", "password": "telecast"},
        )
        answer.raise_for_status()
        return answer.json()["data"]["accessToken"]


async def create_campaigns(base_url: str, token: str, clients: int, seconds: float) -> Throughput:
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        limits=limits,
        timeout=30,
    ) as http:

        async def client() -> int:
            nonlocal failures
            done = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                answer = await http.post("/api/v1/campaigns", json=BODY)
                if answer.status_code != 201:
                    failures += 1
                    continue
                latencies.append(time.perf_counter() - started)
                done += 1
            return done

        started = time.perf_counter()
        counts = await asyncio.gather(*(client() for _ in range(clients)))
    if failures:
        raise RuntimeError(f"{failures} create requests failed")
    return Throughput(sum(counts), time.perf_counter() - started, latencies)
