"""Counting a segment over 1,000,000 contacts, beside the raw count query.

- seeding: one ``INSERT … SELECT … FROM generate_series`` into campaign.contacts (varied
  country, age, interests, attributes, opt-outs), then ``ANALYZE``;
- through the platform: ``GET /api/v1/segments/{id}/count`` for a realistic segment
  (location in [US, CA] AND age between 18 and 45 AND interests any [shopping]): gateway →
  NATS → campaign service (the segment's filter from the event store, then the count);
- raw: the very statement the campaign service runs (``to_sql`` of the same filter), on a
  psycopg connection of its own.

The two are measured in turns, one request after the other (sequential, no concurrency), so
that both see the same machine at the same moment.
"""

from __future__ import annotations

import time

import aiohttp
import psycopg
from psycopg import sql

from bench.figures import Row, Throughput
from telecast_campaign.audience.filter_sql import to_sql
from telecast_campaign.domain.filters import parse

CONTACTS = 1_000_000
SAMPLES = 200
WARM_UP = 20
P99_TARGET_MS = 250.0

SEGMENT = {
    "name": "Young shoppers in North America",
    "filter": {
        "and": [
            {"field": "location", "op": "in", "value": ["US", "CA"]},
            {"field": "age", "op": "between", "value": [18, 45]},
            {"field": "interests", "op": "any", "value": ["shopping"]},
        ]
    },
}

# Each column from its own hash of the row number, so the columns are independent and the
# data is the same in every run. Ten countries (US and CA a tenth each), ages 13-72 (one in
# twenty unknown), eight interests (each about a quarter of the contacts), 3% opted out,
# 2% blocked.
SEED = """
INSERT INTO campaign.contacts (id, telegram_id, chat_type, username, first_name, location, age,
    interests, purchase_history, attributes, is_test_recipient, opted_out, blocked, created_at)
SELECT md5('bench-contact-' || g)::uuid,
    1000000000 + g,
    CASE WHEN h1 %% 50 = 0 THEN 'group' WHEN h1 %% 50 = 1 THEN 'channel' ELSE 'private' END,
    'user' || g,
    (ARRAY['Anna', 'Ben', 'Carla', 'David', 'Elena', 'Farid'])[1 + h2 %% 6],
    (ARRAY['US', 'CA', 'DE', 'FR', 'GB', 'BR', 'IN', 'MX', 'ES', 'IT'])[1 + h1 %% 10],
    CASE WHEN h2 %% 20 = 0 THEN NULL ELSE 13 + h3 %% 60 END,
    ARRAY(SELECT tag FROM unnest(ARRAY['shopping', 'fashion', 'travel', 'cars', 'sports',
            'music', 'food', 'tech']) WITH ORDINALITY AS t(tag, i)
        WHERE (h4 >> (2 * i::int)) & 3 = 0),
    h5 %% 3 = 0,
    jsonb_build_object('tier', (ARRAY['free', 'basic', 'gold'])[1 + h5 %% 3],
        'score', h6 %% 100),
    g %% 1000 = 0,
    h6 %% 100 < 3,
    h6 %% 100 BETWEEN 3 AND 4,
    now() - make_interval(secs => g)
FROM (
    SELECT g,
        hashtextextended(g::text, 1) & 2147483647 AS h1,
        hashtextextended(g::text, 2) & 2147483647 AS h2,
        hashtextextended(g::text, 3) & 2147483647 AS h3,
        hashtextextended(g::text, 4) & 2147483647 AS h4,
        hashtextextended(g::text, 5) & 2147483647 AS h5,
        hashtextextended(g::text, 6) & 2147483647 AS h6
    FROM generate_series(1, %s) AS g
) AS hashed
"""


async def seed(database_url: str) -> float:
    """Seconds to insert the contacts and analyze the table."""
    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(SEED, (CONTACTS,))
        await conn.execute("VACUUM (ANALYZE) campaign.contacts")
    return time.perf_counter() - started


def count_statement() -> tuple[sql.Composable, list[object]]:
    """What the campaign service runs for the segment's count (audience.selection)."""
    condition, params = to_sql(parse(SEGMENT["filter"]))
    statement = sql.SQL(
        "SELECT count(*) FILTER (WHERE NOT opted_out AND NOT blocked), count(*) "
        "FROM campaign.contacts WHERE {}"
    ).format(condition)
    return statement, params


async def run(base_url: str, token: str, database_url: str) -> tuple[list[Row], list[str]]:
    seconds = await seed(database_url)
    headers = {"Authorization": f"Bearer {token}"}
    statement, params = count_statement()
    async with (
        aiohttp.ClientSession(base_url, headers=headers) as http,
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn,
    ):
        async with http.post("/api/v1/segments", json=SEGMENT) as answer:
            answer.raise_for_status()
            segment_id = (await answer.json())["data"]["id"]
        path = f"/api/v1/segments/{segment_id}/count"

        async def through() -> tuple[int, int]:
            async with http.get(path) as answer:
                answer.raise_for_status()
                data = (await answer.json())["data"]
                return data["count"], data["total"]

        async def raw() -> tuple[int, int]:
            row = await (await conn.execute(statement, params)).fetchone()
            assert row is not None
            return row[0], row[1]

        for _ in range(WARM_UP):
            counted = await through()
            assert counted == await raw(), "the API and the SQL disagree"
        served, direct = Throughput(0, 0.0), Throughput(0, 0.0)
        for _ in range(SAMPLES):
            for measured, call in ((served, through), (direct, raw)):
                begun = time.perf_counter()
                await call()
                elapsed = time.perf_counter() - begun
                measured.latencies.append(elapsed)
                measured.operations += 1
                measured.seconds += elapsed
        plan = await _explain(conn, statement, params)

    p99 = served.ms(0.99)
    rows = [
        Row(
            f"segment count over {CONTACTS:,} contacts (sequential)",
            f"p50 {served.ms(0.5):.1f} ms, p99 {p99:.1f} ms",
            f"the same count query on PostgreSQL: p50 {direct.ms(0.5):.1f} ms, "
            f"p99 {direct.ms(0.99):.1f} ms",
            served.ms(0.5) / direct.ms(0.5),
            f"p99 < {P99_TARGET_MS:.0f} ms",
            p99 < P99_TARGET_MS,
        )
    ]
    notes = [
        f"Segment count: {CONTACTS:,} contacts seeded by one INSERT … SELECT generate_series "
        f"and VACUUM ANALYZE ({seconds:.0f} s); the segment (location in [US, CA], age 18-45, "
        f"interests any [shopping]) counts {counted[0]:,} reachable of {counted[1]:,} "
        f"matching. {SAMPLES} requests and {SAMPLES} raw queries in turns; ratio = p50 "
        "through the API ÷ raw p50. Plan: " + _outline(plan) + ".",
    ]
    return rows, notes


async def _explain(
    conn: psycopg.AsyncConnection, statement: sql.Composable, params: list[object]
) -> str:
    cursor = await conn.execute(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) {}").format(statement), params)
    return "\n".join(row[0] for row in await cursor.fetchall())


def _outline(plan: str) -> str:
    """The plan's nodes, outermost first, with their times."""
    nodes = []
    for line in plan.splitlines():
        text = line.strip().removeprefix("->").strip()
        if " (cost=" not in text:
            continue
        name = text.split(" (cost=")[0].strip()
        actual = (
            text.split("actual time=")[1].split(" ")[0].split("..")[1] if "actual" in text else ""
        )
        nodes.append(f"{name} ({actual} ms)" if actual else name)
    return " ← ".join(nodes)
