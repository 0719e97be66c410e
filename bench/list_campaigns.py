"""List and get throughput with 100,000 campaigns in the read model.

Each case is one query contract (``ListCampaigns`` / ``GetCampaign``), measured twice in the
same run:

- through the platform: ``GET /api/v1/campaigns…`` over HTTP, authenticated, answered by the
  gateway asking the projection over NATS;
- raw: the very SQL that ``campaign_view.list_page`` / ``campaign_view.get`` execute for that
  query (recorded from them, so the baseline cannot drift from the read model), run directly
  on PostgreSQL from as many psycopg connections, in the same transaction shape (the
  projection's pooled connections are not in autocommit: BEGIN, the statements, COMMIT).

The read model is seeded directly with COPY rather than through the API: 100,000 creates
would take minutes and measure the write path, not the read.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from bench.figures import Throughput
from telecast_libs.contracts.messages import GetCampaign, ListCampaigns
from telecast_projection import campaign_view

CAMPAIGNS = 100_000
SEED = 20261127
SEARCH_WORD = "kayak"  # one product of PRODUCTS: in ~1 name out of len(PRODUCTS)
FILTER = {"status": "active", "type": "engagement"}

Query = ListCampaigns | GetCampaign
Statement = tuple[str, list[Any]]


async def connect(database_url: str, *, autocommit: bool = False) -> psycopg.AsyncConnection:
    """A connection, waiting (up to a minute) while the server has no slot free: the
    PostgreSQL a benchmark runs on may be shared with test suites."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return await psycopg.AsyncConnection.connect(database_url, autocommit=autocommit)
        except psycopg.OperationalError as error:
            if "too many clients" not in str(error) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


# Seed data -------------------------------------------------------------------------------

OCCASIONS = (
    "Spring Summer Autumn Winter Holiday Weekend Flash Midnight Early-Bird Exclusive Loyalty "
    "Welcome Anniversary VIP Clearance Launch Back-to-School Mega Daily Weekly Members Festive "
    "Seasonal Last-Chance Black-Friday Cyber-Monday New-Year Valentine Easter Halloween"
).split()
PRODUCTS = (
    "sneakers jackets kayak headphones coffee tea laptops tablets smartwatches cameras "
    "backpacks sunglasses perfume lipstick skincare shampoo vitamins protein yoga-mats "
    "dumbbells bicycles helmets tents sleeping-bags lanterns grills cookware knives blenders "
    "toasters espresso mugs candles pillows blankets mattresses sofas lamps rugs curtains "
    "plants seeds fertilizer drills saws ladders paint wallpaper tiles faucets showers "
    "towels bathrobes pajamas socks scarves gloves beanies boots sandals loafers handbags "
    "wallets belts watches rings necklaces earrings bracelets strollers diapers toys puzzles "
    "crayons notebooks pens planners novels comics audiobooks vinyl guitars pianos drums "
    "microphones speakers projectors consoles joysticks keyboards monitors routers printers "
    "chargers powerbanks drones scooters skateboards surfboards snowboards skis goggles "
    "wetsuits fishing-rods binoculars telescopes aquariums catfood dogfood leashes "
    "birdseed chocolate cookies pastries cheese wine cider olive-oil spices honey granola "
    "smoothies kombucha cereal pasta"
).split()
KINDS = (
    "Sale Promo Drive Giveaway Campaign Offer Deals Survey Invite Challenge Quiz Newsletter "
    "Countdown Blast Reminder Raffle Preview Bundle Event Contest"
).split()
AUDIENCES = (
    "new subscribers",
    "loyal customers",
    "students",
    "young parents",
    "gamers",
    "commuters",
    "pet owners",
    "home cooks",
    "outdoor lovers",
    "small businesses",
    "returning buyers",
    "lapsed customers",
    "early adopters",
    "premium members",
    "first-time visitors",
)
CITIES = (
    "Berlin Lisbon Madrid Paris Rome Vienna Warsaw Prague Dublin Oslo Stockholm Helsinki "
    "Riga Vilnius Tallinn Athens Sofia Bucharest Zagreb Belgrade Budapest Amsterdam Brussels "
    "Zurich Geneva Milan Naples Porto Seville Valencia Lyon Marseille Munich Hamburg Cologne "
    "Krakow Gdansk Tbilisi Yerevan Almaty"
).split()
COUNTRIES = "US GB DE FR ES IT PT PL NL SE NO FI AT CH IE GR RO BG HR RS HU CZ".split()
STATUSES = {
    "draft": 30,
    "scheduled": 10,
    "active": 25,
    "paused": 5,
    "completed": 25,
    "cancelled": 5,
}
TYPES = {"message": 40, "invitation": 15, "data_collection": 10, "engagement": 25, "custom": 10}
PERSONALIZATION = ["firstName", "lastName", "lastPurchase", "city", "loyaltyTier"]
GREETINGS = [
    "Hot deals, {{firstName}}!",
    "{{firstName}}, this one is for you",
    "Only until Sunday, {{firstName}}",
    "We saved you a spot, {{firstName}}",
]


def _wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def seed_rows(count: int, now: datetime) -> list[tuple[Any, ...]]:
    """``count`` read-model rows shaped as the projection writes them (deterministic)."""
    rng = random.Random(SEED)
    operators = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(8)]
    statuses, status_weights = list(STATUSES), list(STATUSES.values())
    types, type_weights = list(TYPES), list(TYPES.values())
    rows = []
    for _ in range(count):
        product = rng.choice(PRODUCTS)
        name = f"{rng.choice(OCCASIONS)} {product.capitalize()} {rng.choice(KINDS)}"
        description = (
            f"{rng.choice((10, 15, 20, 25, 30, 40, 50))}% off for {rng.choice(AUDIENCES)} "
            f"in {rng.choice(CITIES)}"
        )
        kind = rng.choices(types, type_weights)[0]
        status = rng.choices(statuses, status_weights)[0]
        created_at = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        updated_at = created_at + timedelta(
            seconds=rng.uniform(0, min((now - created_at).total_seconds(), 30 * 86400))
        )
        version = 1 if status == "draft" and rng.random() < 0.7 else rng.randint(2, 6)
        deleted_at = (
            updated_at if status in ("draft", "cancelled") and rng.random() < 0.03 else None
        )
        budget = float(rng.randrange(500, 200_000, 500)) if rng.random() < 0.9 else None
        start_date = end_date = None
        if rng.random() < 0.85:
            start_date = (created_at + timedelta(days=rng.randint(1, 30))).replace(
                minute=0, second=0, microsecond=0
            )
            end_date = start_date + timedelta(days=rng.randint(1, 30))
        content: dict[str, Any] = {
            "name": name,
            "description": description,
            "type": kind,
            "goals": {
                "targetAudience": rng.randrange(1000, 100_000, 1000),
                "conversionRate": rng.randint(1, 30),
                "revenue": rng.randrange(10_000, 1_000_000, 10_000),
            },
            "targetAudience": {
                "segments": [f"seg{rng.randint(100, 999)}" for _ in range(rng.randint(1, 3))],
                "filters": {
                    "location": rng.sample(COUNTRIES, rng.randint(1, 3)),
                    "purchaseHistory": rng.random() < 0.5,
                },
            },
            "messages": [
                {
                    "templateId": f"tmpl{rng.randint(100, 999)}",
                    "personalization": {
                        "enabled": True,
                        "fields": rng.sample(PERSONALIZATION, 2),
                    },
                    "variations": [
                        {"content": greeting, "weight": 50} for greeting in rng.sample(GREETINGS, 2)
                    ],
                }
            ],
        }
        if budget is not None:
            content["budget"] = budget
        if start_date is not None and end_date is not None:
            content["startDate"] = _wire_time(start_date)
            content["endDate"] = _wire_time(end_date)
        rows.append(
            (
                uuid.UUID(int=rng.getrandbits(128), version=4),
                version,
                name,
                description,
                kind,
                status,
                budget,
                start_date,
                end_date,
                rng.choice(operators),
                created_at,
                updated_at,
                deleted_at,
                Jsonb(content),
            )
        )
    # The projection inserts campaigns as they are created: the table's physical order
    # follows created_at, which the planner's correlation statistics see.
    rows.sort(key=lambda row: row[10])
    return rows


async def seed(database_url: str, count: int = CAMPAIGNS) -> float:
    """Replace the read model's rows with ``count`` seeded campaigns; the seconds it took.

    Call it once the platform is up (the projection creates the tables at start) and its
    backlog is applied: the follower only touches rows of events it applies, and seeded rows
    have no events. VACUUM ANALYZE leaves the table as autovacuum would (statistics, visibility
    map) instead of letting autovacuum start in the middle of a timed run.
    """
    started = time.perf_counter()
    rows = await asyncio.to_thread(seed_rows, count, datetime.now(UTC))
    async with await connect(database_url) as conn:
        await conn.execute("TRUNCATE projection.campaigns")
        async with conn.cursor().copy(
            "COPY projection.campaigns (id, version, name, description, type, status, budget,"
            " start_date, end_date, created_by, created_at, updated_at, deleted_at, content)"
            " FROM STDIN"
        ) as copy:
            for row in rows:
                await copy.write_row(row)
        await conn.commit()
        await conn.set_autocommit(True)
        await conn.execute("VACUUM (ANALYZE) projection.campaigns")
    return time.perf_counter() - started


# The SQL of a query ----------------------------------------------------------------------


class _Recorder:
    """Stands in for a psycopg connection and cursor: records what campaign_view executes."""

    def __init__(self, one: Any) -> None:
        self.statements: list[Statement] = []
        self._one = one

    def cursor(self, row_factory: Any = None) -> _Recorder:
        return self

    async def execute(self, query: str, params: Sequence[Any] | None = None) -> _Recorder:
        self.statements.append((query, list(params or ())))
        return self

    async def fetchone(self) -> Any:
        return self._one

    async def fetchall(self) -> list[Any]:
        return []


async def statements(query: Query) -> list[Statement]:
    """The statements the projection executes to answer ``query``, with their parameters."""
    if isinstance(query, GetCampaign):
        recorder = _Recorder(one=None)
        await campaign_view.get(recorder, query.campaign_id)  # type: ignore[arg-type]
    else:
        recorder = _Recorder(one={"total": 0})
        await campaign_view.list_page(recorder, query)  # type: ignore[arg-type]
    if not recorder.statements:
        raise RuntimeError(f"campaign_view executed nothing for {query!r}")
    return recorder.statements


def http_path(query: Query) -> str:
    if isinstance(query, GetCampaign):
        return f"/api/v1/campaigns/{query.campaign_id}"
    default = ListCampaigns()
    params = {
        "page": query.page,
        "limit": query.limit,
        "status": query.status,
        "type": query.type,
        "sort": query.sort,
        "search": query.search,
    }
    kept = {k: v for k, v in params.items() if v is not None and v != getattr(default, k)}
    return "/api/v1/campaigns" + (f"?{urlencode(kept)}" if kept else "")


# Cases -----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    next_query: Callable[[], Query]
    # The case the p99 target applies to (list with search).
    target: bool = False


async def cases(database_url: str) -> list[Case]:
    """The four read cases; get picks among 2,000 random live campaigns."""
    async with await connect(database_url, autocommit=True) as conn:
        rows = await (
            await conn.execute(
                "SELECT id::text FROM projection.campaigns WHERE deleted_at IS NULL"
                " ORDER BY random() LIMIT 2000"
            )
        ).fetchall()
    ids = [row[0] for row in rows]
    picker = random.Random(SEED)
    default = ListCampaigns()
    search = ListCampaigns(search=SEARCH_WORD)
    filtered = ListCampaigns(status=FILTER["status"], type=FILTER["type"])
    return [
        Case("list, default (page 1 of 20, -createdAt)", lambda: default),
        Case(f"list, search={SEARCH_WORD}", lambda: search, target=True),
        Case(
            f"list, status={FILTER['status']}&type={FILTER['type']}",
            lambda: filtered,
        ),
        Case("get by id (random ids)", lambda: GetCampaign(campaign_id=picker.choice(ids))),
    ]


# Load ------------------------------------------------------------------------------------


async def _closed_loop(
    clients: int, seconds: float, one: Callable[[int], Awaitable[bool]]
) -> Throughput:
    """``clients`` loops each doing ``one`` (True: answered, False: failed) until the time is up."""
    latencies: list[float] = []
    failed = 0
    deadline = time.perf_counter() + seconds

    async def client(number: int) -> int:
        nonlocal failed
        done = 0
        while time.perf_counter() < deadline:
            begun = time.perf_counter()
            if await one(number):
                latencies.append(time.perf_counter() - begun)
                done += 1
            else:
                failed += 1
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(client(n) for n in range(clients)))
    return Throughput(sum(counts), time.perf_counter() - started, latencies, failed)


async def http_reads(
    base_url: str, token: str, clients: int, seconds: float, next_query: Callable[[], Query]
) -> Throughput:
    """GET through the gateway, ``clients`` at a time (aiohttp, as for creates). An answer
    other than 200 (a 503 when the projection is too slow) counts as an error."""
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        base_url, headers=headers, connector=connector, timeout=timeout
    ) as http:

        async def one(_: int) -> bool:
            async with http.get(http_path(next_query())) as answer:
                await answer.read()
                return answer.status == 200

        return await _closed_loop(clients, seconds, one)


async def raw_reads(
    database_url: str, clients: int, seconds: float, next_query: Callable[[], Query]
) -> Throughput:
    """The same queries' SQL straight on PostgreSQL: BEGIN, statements, COMMIT."""
    cache: dict[str, list[Statement]] = {}
    conns: list[psycopg.AsyncConnection] = []
    try:
        for _ in range(clients):
            conns.append(await connect(database_url))

        async def one(number: int) -> bool:
            query = next_query()
            key = http_path(query)
            if key not in cache:
                cache[key] = await statements(query)
            conn = conns[number]
            for text, params in cache[key]:
                await (await conn.execute(text, params)).fetchall()
            await conn.commit()
            return True

        return await _closed_loop(clients, seconds, one)
    finally:
        for conn in conns:
            await conn.close()


# Checks ----------------------------------------------------------------------------------


async def check_answers(base_url: str, token: str, database_url: str) -> dict[str, int]:
    """The API's totals equal the SQL's counts (the gateway really reads the seeded rows)."""
    totals: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(base_url, headers=headers) as http,
        await connect(database_url, autocommit=True) as conn,
    ):
        for query in (
            ListCampaigns(),
            ListCampaigns(search=SEARCH_WORD),
            ListCampaigns(status=FILTER["status"], type=FILTER["type"]),
        ):
            text, params = (await statements(query))[0]
            expected = (await (await conn.execute(text, params)).fetchone())[0]
            async with http.get(http_path(query)) as answer:
                body = await answer.json()
            total = body["data"]["pagination"]["total"]
            if total != expected or len(body["data"]["campaigns"]) != min(20, expected):
                raise RuntimeError(f"{http_path(query)}: API total {total}, SQL {expected}")
            totals[http_path(query)] = total
    return totals


async def explain(database_url: str, query: Query) -> list[str]:
    """EXPLAIN ANALYZE of every statement of ``query`` as the timed runs execute it.

    psycopg prepares a statement on the server once it has run it ``prepare_threshold`` (5)
    times, and PostgreSQL may then switch to a generic plan: each statement is run a few
    times first, and its prepared form explained with the same parameters.
    """
    plans = []
    async with await connect(database_url, autocommit=True) as conn:
        for text, params in await statements(query):
            before = await _prepared(conn)
            for _ in range(10):
                await (await conn.execute(text, params)).fetchall()
            added = sorted(set(await _prepared(conn)) - set(before))
            if added:
                arguments = sql.SQL(", ").join(map(sql.Literal, params))
                explained = sql.SQL("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE {}{}").format(
                    sql.Identifier(added[0]),
                    sql.SQL("({})").format(arguments) if params else sql.SQL(""),
                )
                rows = await (await conn.execute(explained)).fetchall()
                kinds = (await _prepared(conn))[added[0]]
                header = f"-- prepared; so far {kinds[0]} generic and {kinds[1]} custom plans"
            else:
                explained = sql.SQL("EXPLAIN (ANALYZE, COSTS OFF) {}").format(sql.SQL(text))
                rows = await (await conn.execute(explained, params)).fetchall()
                header = "-- not prepared"
            plans.append("\n".join([header, *(row[0] for row in rows)]))
    return plans


async def _prepared(conn: psycopg.AsyncConnection) -> dict[str, tuple[int, int]]:
    rows = await (
        await conn.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
    ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def plan_outline(plan: str) -> str:
    """A plan's nodes, outermost first: ``Limit ← Sort ← Bitmap Heap Scan on campaigns …``."""
    nodes = []
    for line in plan.splitlines():
        text = line.strip().removeprefix("->").strip()
        if line.startswith((" ", "-")) and not line.strip().startswith("->"):
            continue  # a node's detail (Filter, Sort Key, Buffers…), not a node
        if text.startswith(("Planning", "Execution")) or not text:
            continue
        nodes.append(text.split("  (")[0].split(" (actual")[0])
    return " ← ".join(nodes)
