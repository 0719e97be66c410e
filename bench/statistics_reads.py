"""Statistics and progress reads on a campaign of 1,000,000 deliveries, through HTTP and
as the projection's SQL alone.

The campaign's statistics tables are seeded with SQL as 1,000,000 deliveries over 30 days
leave them (720 hours, error codes, A/B arms, segments, the last two minutes' seconds), among
1,000 other campaigns' 30 days of hours; the campaign row goes straight into
``projection.campaigns``, active (progress then reads the current rate). The raw baseline is
what ``statistics_view`` executes for the same request (recorded from it), each request one
transaction as in the projection's pool.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
import psycopg
from psycopg.types.json import Jsonb

from bench.create_campaigns import login
from bench.figures import Throughput
from bench.list_campaigns import _closed_loop, connect, seed_rows
from telecast_devenv.platform import Platform
from telecast_projection import statistics_view

QUERY_CLIENTS = 4
DELIVERIES = 1_000_000
DAYS = 30
OTHER_CAMPAIGNS = 1_000
ERRORS = {
    "USER_BLOCKED": "The recipient blocked the bot",
    "CHAT_NOT_FOUND": "The chat does not exist",
    "DELIVERY_UNCONFIRMED": "The outcome of the send was lost",
}


async def seed_statistics(database_url: str) -> tuple[str, float]:
    """An active campaign (straight into ``projection.campaigns``, three segments, A/B arms)
    whose statistics tables hold what 1,000,000 deliveries over 30 days leave, among
    ``OTHER_CAMPAIGNS`` others' 30 days of hours; its id and the seconds it took."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    row = list(seed_rows(1, now)[0])
    campaign_id = uuid.uuid4()
    segments = [str(uuid.uuid4()) for _ in range(3)]
    content = row[13].obj
    content["targetAudience"]["segments"] = segments
    row[0], row[5], row[12], row[13] = campaign_id, "active", None, Jsonb(content)
    hours = DAYS * 24
    per_hour = DELIVERIES // hours
    failed = DELIVERIES * 3 // 100
    delivered = DELIVERIES - failed
    async with await connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO projection.campaigns (id, version, name, description, type, status,"
            " budget, start_date, end_date, created_by, created_at, updated_at, deleted_at,"
            " content) VALUES (" + ", ".join(["%s"] * 14) + ")",
            row,
        )
        await conn.execute(
            """
            INSERT INTO projection.delivery_stats (campaign_id, execution_id, planned_recipients,
                planned_deliveries, processed, delivered, delivered_recipients, failed, reads,
                readers, clicks, clickers, conversions, converters, revenue, cost, first_at,
                last_at)
            VALUES (%(id)s, gen_random_uuid(), %(planned)s, %(planned)s, %(n)s, %(delivered)s,
                %(delivered)s, %(failed)s, %(readers)s * 1.3, %(readers)s, %(clickers)s * 1.4,
                %(clickers)s, %(converters)s, %(converters)s, %(converters)s * 42.5,
                %(delivered)s * 0.001, %(now)s - interval '30 days', %(now)s)
            """,
            {
                "id": campaign_id,
                "planned": DELIVERIES * 6 // 5,
                "n": DELIVERIES,
                "delivered": delivered,
                "failed": failed,
                "readers": delivered * 62 // 100,
                "clickers": delivered * 12 // 100,
                "converters": delivered * 3 // 100,
                "now": now,
            },
        )
        # Its 720 hours and OTHER_CAMPAIGNS others' (the table as a busy platform has it).
        await conn.execute(
            """
            INSERT INTO projection.delivery_hours
                (campaign_id, hour, processed, delivered, failed, reads, clicks, conversions,
                 revenue, delivered_recipients, readers, clickers, converters)
            SELECT c.id, date_trunc('hour', %(now)s::timestamptz) - h * interval '1 hour',
                   %(per_hour)s, %(per_hour)s * 97 / 100, %(per_hour)s * 3 / 100,
                   %(per_hour)s * 6 / 10, %(per_hour)s / 8, %(per_hour)s / 33,
                   %(per_hour)s * 1.3, %(per_hour)s * 97 / 100, %(per_hour)s / 2,
                   %(per_hour)s / 10, %(per_hour)s / 40
            FROM (SELECT %(id)s::uuid AS id
                  UNION ALL SELECT gen_random_uuid() FROM generate_series(1, %(others)s)) c,
                 generate_series(0, %(hours)s - 1) h
            """,
            {
                "id": campaign_id,
                "now": now,
                "per_hour": per_hour,
                "hours": hours,
                "others": OTHER_CAMPAIGNS,
            },
        )
        await conn.execute(
            "INSERT INTO projection.delivery_seconds (campaign_id, second, processed) "
            "SELECT %s, date_trunc('second', %s::timestamptz) - s * interval '1 second', 12 "
            "FROM generate_series(0, 119) s",
            (campaign_id, now),
        )
        for n, (code, message) in enumerate(ERRORS.items()):
            await conn.execute(
                "INSERT INTO projection.delivery_errors (campaign_id, code, message, count) "
                "VALUES (%s, %s, %s, %s)",
                (campaign_id, code, message, failed // (2**n) // 2 + 1),
            )
        for variation in ("", "v1", "v2"):
            await conn.execute(
                "INSERT INTO projection.delivery_variations (campaign_id, message_id,"
                " variation_id, delivered, recipients, failed, clickers, converters, revenue)"
                " VALUES (%s, 'm1', %s, %s, %s, %s, %s, %s, %s)",
                (
                    campaign_id,
                    variation,
                    delivered // 3,
                    delivered // 3,
                    failed // 3,
                    delivered // 25,
                    delivered // 100,
                    delivered * 0.4,
                ),
            )
        for segment in segments:
            await conn.execute(
                "INSERT INTO projection.delivery_segments (campaign_id, segment_id, hour,"
                " delivered, recipients, converters, revenue)"
                " VALUES (%s, %s, date_trunc('hour', %s::timestamptz), %s, %s, %s, %s)",
                (
                    campaign_id,
                    segment,
                    now,
                    delivered // 2,
                    delivered // 2,
                    delivered // 70,
                    delivered * 0.6,
                ),
            )
        await conn.commit()
        await conn.set_autocommit(True)
        await conn.execute("VACUUM (ANALYZE) projection.delivery_hours")
    return str(campaign_id), time.perf_counter() - started


Statement = tuple[str, list[Any]]


class _Recording:
    """A connection that records what ``statistics_view`` executes, and executes it."""

    def __init__(self, conn: psycopg.AsyncConnection) -> None:
        self.conn = conn
        self.statements: list[Statement] = []

    async def execute(self, query: str, params: Sequence[Any] | None = None) -> Any:
        self.statements.append((query, list(params or ())))
        return await self.conn.execute(query, params)


async def _statements(database_url: str, campaign_id: str) -> dict[str, list[Statement]]:
    """By request path, the statements the projection runs to answer it."""
    views: dict[str, Callable[[Any], Awaitable[Any]]] = {
        f"/api/v1/campaigns/{campaign_id}/statistics?period=all": lambda conn: (
            statistics_view.statistics(conn, campaign_id, "all", None)
        ),
        f"/api/v1/campaigns/{campaign_id}/statistics?period=24h": lambda conn: (
            statistics_view.statistics(conn, campaign_id, "24h", None)
        ),
        f"/api/v1/campaigns/{campaign_id}/progress": lambda conn: statistics_view.progress(
            conn, campaign_id
        ),
    }
    recorded = {}
    async with await connect(database_url) as conn:
        for path, view in views.items():
            recording = _Recording(conn)
            await view(recording)
            await conn.commit()
            recorded[path] = recording.statements
    return recorded


async def _http(base_url: str, token: str, path: str, seconds: float) -> Throughput:
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=QUERY_CLIENTS)
    async with aiohttp.ClientSession(base_url, headers=headers, connector=connector) as http:

        async def one(_: int) -> bool:
            async with http.get(path) as answer:
                await answer.read()
                return answer.status == 200

        return await _closed_loop(QUERY_CLIENTS, seconds, one)


async def _raw(database_url: str, statements: list[Statement], seconds: float) -> Throughput:
    """The statements straight on PostgreSQL, each request one transaction (as pooled)."""
    conns = [await connect(database_url) for _ in range(QUERY_CLIENTS)]
    try:

        async def one(number: int) -> bool:
            conn = conns[number]
            for text, params in statements:
                await (await conn.execute(text, params)).fetchall()
            await conn.commit()
            return True

        return await _closed_loop(QUERY_CLIENTS, seconds, one)
    finally:
        for conn in conns:
            await conn.close()


async def query_latency(
    platform: Platform, seconds: float
) -> tuple[list[tuple[str, Throughput, Throughput, int]], float, int]:
    """(path, through HTTP, raw SQL, statements) per request; the seeding's seconds; the
    messagesSent the API answered."""
    campaign_id, seeding = await seed_statistics(platform.database_url)
    token = await login(platform.base_url)
    recorded = await _statements(platform.database_url, campaign_id)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(platform.base_url, headers=headers) as http:
        path = next(iter(recorded))
        async with http.get(path) as answer:
            body = await answer.json()
        if answer.status != 200:
            raise RuntimeError(f"GET {path} answered {answer.status}: {body}")
        sent = body["data"]["overview"]["messagesSent"]
    results = []
    for path, statements in recorded.items():
        await _http(platform.base_url, token, path, 1.0)  # warm up
        through = await _http(platform.base_url, token, path, seconds)
        raw = await _raw(platform.database_url, statements, seconds)
        results.append((path, through, raw, len(statements)))
    return results, seeding, sent
