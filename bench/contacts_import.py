"""Contact import throughput and memory, beside raw PostgreSQL COPY of the same rows.

- through the platform: ``POST /api/v1/contacts/import`` with a CSV body generated on the fly
  and streamed (chunked), parsed by the gateway and upserted by the campaign service in
  batches; first 100,000 new contacts, then the same file again (every row an update);
- raw: ``COPY … FROM STDIN`` of the same rows (pre-rendered, so only PostgreSQL is timed)
  into a scratch table made ``LIKE campaign.contacts INCLUDING ALL``: the same columns,
  generated search vector and indexes, so the baseline lands the same rows in the same shape.

Raw COPY and import alternate for a few rounds and the medians are compared: the machine is
shared, and one run of each would mostly measure its neighbours. Peak memory is each
process's high-water mark of resident memory (``VmHWM`` in /proc/<pid>/status), read at
start, after a 10,000-row warm-up import and after the 100,000-row imports: if memory
followed the file size, the last figure would be much larger.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

import aiohttp
import psycopg

from bench.figures import Row
from telecast_devenv.platform import Platform

CONTACTS = 100_000
WARM_UP = 10_000
ROUNDS = 3
WARM_UP_ID = 7_000_000_000
FIRST_ID = 8_000_000_000
SEED = 20261128
ROWS_PER_CHUNK = 500
# Distinct contact profiles; rows cycle through them (cheap to generate while sending).
PROFILES = 4096
IMPORT_TARGET = 0.5
RSS_TARGET_MB = 200

FIRST_NAMES = (
    "Anna Ben Carla David Elena Farid Greta Hugo Ines Jonas Kira Luca Maya Nils Olga Pavel "
    "Quinn Rosa Sami Tara Umar Vera Wim Xenia Yusuf Zoe"
).split()
LAST_NAMES = (
    "Müller Rossi García Dubois Novak Jensen Silva Kowalski Ivanova Smith Nagy Horvat Costa "
    "Berg Lind Moreau Fischer Romano Ortiz Popescu"
).split()
COUNTRIES = "US GB DE FR ES IT PT PL NL SE NO FI AT CH IE GR RO BR IN JP".split()
LANGUAGES = "en de fr es it pt pl nl sv ru uk tr".split()
INTERESTS = (
    "shopping fashion sports travel music gaming tech books food fitness cars pets movies "
    "art crypto finance beauty outdoors photography parenting"
).split()
PLANS = ("free", "basic", "gold", "platinum")
CHAT_TYPES = ("private",) * 17 + ("group", "supergroup", "channel")

CSV_HEADER = (
    "telegramId,chatType,username,firstName,lastName,languageCode,location,age,interests,"
    "purchaseHistory,lastPurchase,attributes.plan,attributes.score\n"
)
COPY_COLUMNS = (
    "telegram_id, chat_type, username, first_name, last_name, language_code, location, age, "
    "interests, purchase_history, last_purchase, attributes"
)


@dataclass(frozen=True)
class Profile:
    """Everything about a contact but its Telegram id and username, pre-rendered."""

    chat_type: str
    username: str  # the username's prefix: the row number follows
    csv_tail: str
    copy_tail: str


def profiles(seed: int = SEED) -> list[Profile]:
    """``PROFILES`` deterministic profiles; row n gets profile n mod ``PROFILES``."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    made = []
    for _ in range(PROFILES):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        language, location = rng.choice(LANGUAGES), rng.choice(COUNTRIES)
        age = rng.randint(16, 80)
        interests = rng.sample(INTERESTS, rng.randint(1, 4))
        bought = rng.random() < 0.4
        last_purchase = (
            (now - timedelta(minutes=rng.randrange(500_000))).isoformat() if bought else ""
        )
        plan, score = rng.choice(PLANS), rng.randrange(1000)
        made.append(
            Profile(
                chat_type=rng.choice(CHAT_TYPES),
                username=first.lower(),
                csv_tail=f"{first},{last},{language},{location},{age},{';'.join(interests)},"
                f"{'true' if bought else 'false'},{last_purchase},{plan},{score}\n",
                copy_tail=f"{first}\t{last}\t{language}\t{location}\t{age}\t"
                f"{{{','.join(interests)}}}\t{'t' if bought else 'f'}\t"
                f"{last_purchase or chr(92) + 'N'}\t"
                f'{{"plan": "{plan}", "score": {score}}}\n',
            )
        )
    return made


def csv_rows(count: int, first_id: int, pool: list[Profile]) -> Iterator[str]:
    for n in range(count):
        p = pool[n % PROFILES]
        yield f"{first_id + n},{p.chat_type},{p.username}_{n},{p.csv_tail}"


def copy_rows(count: int, first_id: int, pool: list[Profile]) -> Iterator[str]:
    for n in range(count):
        p = pool[n % PROFILES]
        yield f"{first_id + n}\t{p.chat_type}\t{p.username}_{n}\t{p.copy_tail}"


async def _csv_body(count: int, first_id: int, pool: list[Profile]) -> AsyncIterator[bytes]:
    """The CSV, generated as it is sent: the client never holds the file either."""
    yield CSV_HEADER.encode()
    rows = csv_rows(count, first_id, pool)
    while chunk := "".join(islice(rows, ROWS_PER_CHUNK)):
        yield chunk.encode()


async def http_import(
    base_url: str, token: str, count: int, first_id: int, pool: list[Profile]
) -> tuple[dict, float]:
    """One streamed import; its report and the seconds it took."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    timeout = aiohttp.ClientTimeout(total=1800)
    async with aiohttp.ClientSession(base_url, timeout=timeout) as http:
        started = time.perf_counter()
        async with http.post(
            "/api/v1/contacts/import", data=_csv_body(count, first_id, pool), headers=headers
        ) as answer:
            body = await answer.json()
        seconds = time.perf_counter() - started
    if answer.status != 200:
        raise RuntimeError(f"the import answered {answer.status}: {body}")
    return body["data"], seconds


async def raw_copy(database_url: str, count: int, first_id: int, pool: list[Profile]) -> float:
    """Seconds PostgreSQL takes to COPY the same rows into a table shaped like contacts."""
    data = "".join(copy_rows(count, first_id, pool)).encode()
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("DROP TABLE IF EXISTS bench_contacts_copy")
        await conn.execute(
            "CREATE TABLE bench_contacts_copy (LIKE campaign.contacts INCLUDING ALL)"
        )
        started = time.perf_counter()
        async with conn.transaction():
            async with conn.cursor().copy(
                f"COPY bench_contacts_copy ({COPY_COLUMNS}) FROM STDIN"
            ) as copy:
                for start in range(0, len(data), 1 << 20):
                    await copy.write(data[start : start + (1 << 20)])
        seconds = time.perf_counter() - started
        copied = (
            await (await conn.execute("SELECT count(*) FROM bench_contacts_copy")).fetchone()
        )[0]
        await conn.execute("DROP TABLE bench_contacts_copy")
    if copied != count:
        raise RuntimeError(f"raw COPY landed {copied} rows, not {count}")
    return seconds


def peak_rss_mb(platform: Platform, service: str) -> float:
    """The service process's high-water mark of resident memory (VmHWM), in MB."""
    process = platform[service].process
    assert process is not None
    with open(f"/proc/{process.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/<pid>/status")


async def _count(database_url: str, first_id: int, count: int) -> int:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM campaign.contacts WHERE telegram_id >= %s AND telegram_id < %s",
            (first_id, first_id + count),
        )
        return (await cursor.fetchone())[0]  # type: ignore[index]


async def measure(platform: Platform, database_url: str, token: str) -> tuple[list[Row], list[str]]:
    """Warm-up import; then ``ROUNDS`` times a raw COPY and an import of as many new contacts
    (alternating, so both see the same machine); then the last file again (all updates)."""
    pool = profiles()
    services = ("gateway", "campaign")
    idle_rss = {name: peak_rss_mb(platform, name) for name in services}
    await http_import(platform.base_url, token, WARM_UP, WARM_UP_ID, pool)
    warm_rss = {name: peak_rss_mb(platform, name) for name in services}

    raw_times, import_times = [], []
    for round_ in range(ROUNDS):
        first_id = FIRST_ID + round_ * CONTACTS
        raw_times.append(await raw_copy(database_url, CONTACTS, first_id, pool))
        report, seconds = await http_import(platform.base_url, token, CONTACTS, first_id, pool)
        landed = await _count(database_url, first_id, CONTACTS)
        if (report["created"], report["rejected"], landed) != (CONTACTS, 0, CONTACTS):
            raise RuntimeError(f"import {round_}: {report}; {landed} contacts in the table")
        import_times.append(seconds)
    report, update_seconds = await http_import(platform.base_url, token, CONTACTS, first_id, pool)
    if (report["created"], report["updated"]) != (0, CONTACTS):
        raise RuntimeError(f"the second import of the same file: {report}")
    rss = {name: peak_rss_mb(platform, name) for name in services}

    raw_rate = CONTACTS / statistics.median(raw_times)
    created_rate = CONTACTS / statistics.median(import_times)
    updated_rate = CONTACTS / update_seconds
    baseline = (
        f"raw `COPY` of the same rows into a table `LIKE campaign.contacts INCLUDING ALL`: "
        f"{raw_rate:,.0f} rows/s (median of {ROUNDS})"
    )
    memory = f"peak RSS gateway {rss['gateway']:.0f} MB, campaign {rss['campaign']:.0f} MB"
    rss_ok = max(rss.values()) < RSS_TARGET_MB
    rows = [
        Row(
            f"import {CONTACTS:,} new contacts (CSV, streamed)",
            f"{created_rate:,.0f} rows/s (median of {ROUNDS}); {memory}",
            baseline,
            created_rate / raw_rate,
            f"≥ {IMPORT_TARGET} of raw COPY; peak RSS < {RSS_TARGET_MB} MB",
            created_rate / raw_rate >= IMPORT_TARGET and rss_ok,
        ),
        Row(
            f"import the same {CONTACTS:,} again (every row an update)",
            f"{updated_rate:,.0f} rows/s",
            baseline,
            updated_rate / raw_rate,
            "(locates the limit)",
            None,
        ),
    ]
    rounds = ", ".join(
        f"{raw:.1f} s / {imported:.1f} s"
        for raw, imported in zip(raw_times, import_times, strict=True)
    )
    notes = [
        f"Contact import: each round COPYs {CONTACTS:,} rows raw, then imports {CONTACTS:,} "
        f"other new contacts over HTTP (raw / import per round: {rounds}). The import's CSV "
        "(13 columns) is generated while it is sent (chunked); the gateway parses it as it "
        "arrives and sends batches of 2,000 valid rows, two in flight, to the campaign "
        "service, which COPYs new contacts straight into the table (binary COPY) and upserts "
        "known ones through a temporary table; each batch is one transaction. The raw COPY's "
        "rows are rendered before its clock starts and land in one transaction.",
        f"Peak RSS (VmHWM): before the imports gateway {idle_rss['gateway']:.0f} MB, campaign "
        f"{idle_rss['campaign']:.0f} MB; after a {WARM_UP:,}-row import "
        f"{warm_rss['gateway']:.0f} / {warm_rss['campaign']:.0f} MB; after "
        f"{ROUNDS + 1} imports of {CONTACTS:,} rows {rss['gateway']:.0f} / "
        f"{rss['campaign']:.0f} MB. Memory follows the batch, not the file.",
    ]
    return rows, notes
