"""Campaign statistics: how fast the projection applies delivery events, how far behind it
stays while the dispatcher sends unthrottled, and what a statistics or progress read costs
on a campaign of 1,000,000 deliveries.

- **throughput**: the running platform's projection is stopped, 200,000 delivery events (four
  campaigns, 3 % failed, segments and A/B arms, ``occurredAt`` spread as a 5,000/s send)
  are published onto ``<NS>_DELIVERY_EVENTS`` (pipelined ``publish_async``), the projection
  is started again and timed from its checkpoint's first move to the stream's last
  sequence. Beside it, in the same run: as many rows of an event's width inserted into a
  plain table from one connection, ``PROJECTION_BATCH_SIZE`` (500) rows per ``INSERT …
  SELECT unnest(…)`` and one transaction per batch;
- **lag**: the sending benchmark's unthrottled pipeline (50,000 recipients, a platform of its
  own), sampled every 100 ms: the stream's last sequence against the projection's
  checkpoint, and the newest outcome committed to the dispatcher's ledger against the
  newest event applied (``max(finished_at)`` vs ``max(last_at)``);
- **queries** (``statistics_reads``): ``GET …/statistics`` (``all``, ``24h``) and
  ``…/progress`` on a campaign of 1,000,000 deliveries from a few HTTP clients, beside the
  statements the projection runs for them, straight on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import nats
import psycopg

from bench.figures import Row, percentile
from bench.list_campaigns import connect
from bench.processes import CpuMeter
from bench.sending import PIPELINE_CONTACTS, UNTHROTTLED, _pipeline_run, _platform
from bench.statistics_reads import DAYS, ERRORS, OTHER_CAMPAIGNS, QUERY_CLIENTS, query_latency
from telecast_devenv.platform import Platform
from telecast_libs.contracts.base import encode
from telecast_libs.contracts.deliveries import DeliveryEvent, delivery_event_id
from telecast_libs.subjects import subjects_for

EVENTS = 200_000
CAMPAIGNS = 4
BATCH = 500  # PROJECTION_BATCH_SIZE's default
SEND_RATE = 5_000.0  # the pace occurredAt follows, as a send at the pipeline's target
THROUGHPUT_TARGET = 0.5
LAG_P99_TARGET_MS = 200.0
QUERY_P99_TARGET_MS = 10.0
SEED = 20261128


def _consumer(namespace: str) -> str:
    return subjects_for(namespace).durable("delivery_read_model")


# Throughput ------------------------------------------------------------------------------


def delivery_events(count: int) -> list[DeliveryEvent]:
    """``count`` outcomes of one-message sends to ``CAMPAIGNS`` campaigns (deterministic)."""
    rng = random.Random(SEED)
    campaigns = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(CAMPAIGNS)]
    segments = [str(uuid.uuid4()) for _ in range(3)]
    codes = list(ERRORS)
    start = datetime.now(UTC) - timedelta(seconds=count / SEND_RATE)
    events = []
    for n in range(count):
        campaign_id, execution_id = campaigns[n % CAMPAIGNS]
        contact_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        failed = rng.random() < 0.03
        code = rng.choice(codes) if failed else None
        events.append(
            DeliveryEvent(
                id=delivery_event_id(execution_id, contact_id, "m1"),
                type="delivery.failed" if failed else "delivery.sent",
                campaign_id=campaign_id,
                execution_id=execution_id,
                contact_id=contact_id,
                telegram_id=9_000_000_000 + n,
                chat_kind="private",
                message_id="m1",
                step=0,
                variation_id=rng.choice((None, "v1", "v2")),
                code=code,
                message=ERRORS[code] if code else None,
                account="sim-bot-1",
                telegram_message_id=None if failed else n + 1,
                attempts=1,
                occurred_at=start + timedelta(seconds=n / SEND_RATE),
                segment_ids=rng.sample(segments, rng.randint(1, 2)),
                cost=0.0 if failed else 0.001,
            )
        )
    return events


async def _publish(nats_url: str, namespace: str, events: list[DeliveryEvent]) -> tuple[int, float]:
    """Publish ``events`` (pipelined, each with its ``Nats-Msg-Id``); the stream's last
    sequence and the seconds it took."""
    subjects = subjects_for(namespace)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        started = time.perf_counter()
        acks = [
            await js.publish_async(
                f"{namespace}.events.{event.type}", encode(event), headers={"Nats-Msg-Id": event.id}
            )
            for event in events
        ]
        await asyncio.gather(*acks)
        seconds = time.perf_counter() - started
        info = await js.stream_info(subjects.delivery_events_stream)
        return info.state.last_seq, seconds
    finally:
        await nc.close()


async def _checkpoint(conn: psycopg.AsyncConnection, consumer: str) -> int:
    row = await (
        await conn.execute(
            "SELECT stream_seq FROM projection.checkpoints WHERE consumer = %s", (consumer,)
        )
    ).fetchone()
    return row[0] if row else 0


async def projection_throughput(platform: Platform, count: int = EVENTS) -> dict[str, Any]:
    """Events/s the projection applies from a backlog of ``count`` delivery events."""
    events = await asyncio.to_thread(delivery_events, count)
    consumer = _consumer(platform.namespace)
    projection = platform["projection"]
    await asyncio.to_thread(projection.stop)
    last_seq, publish_seconds = await _publish(platform.nats_url, platform.namespace, events)
    async with await connect(platform.database_url, autocommit=True) as conn:
        before = await _checkpoint(conn, consumer)
        meter = CpuMeter(platform)
        meter.start()
        started = time.perf_counter()
        projection.start()
        first: tuple[float, int] | None = None
        deadline = time.monotonic() + 600
        while (seq := await _checkpoint(conn, consumer)) < last_seq:
            if first is None and seq > before:
                first = (time.perf_counter(), seq)
            if time.monotonic() > deadline or projection.process.poll() is not None:  # type: ignore[union-attr]
                raise TimeoutError(f"the projection stopped at {seq} of {last_seq}")
            await asyncio.sleep(0.02)
        finished = time.perf_counter()
        meter.stop()
        campaigns = list({event.campaign_id for event in events})
        applied = await (
            await conn.execute(
                "SELECT sum(processed) FROM projection.delivery_stats "
                "WHERE campaign_id = ANY(%s::uuid[])",
                (campaigns,),
            )
        ).fetchone()
    if first is None:  # the whole backlog in one poll: not measurable
        first = (started, before)
    if applied is None or applied[0] != count:
        raise RuntimeError(f"{count} events published, {applied} counted in delivery_stats")
    raw = await raw_inserts(platform.database_url, events)
    return {
        "count": count,
        "publish": publish_seconds,
        "catch_up": finished - started,
        "per_second": (last_seq - first[1]) / (finished - first[0]),
        "raw": count / raw,
        "cpu": meter.outline(),
        "cpu_share": {name: used / (finished - started) for name, used in meter.used.items()},
    }


RAW_COLUMNS = (
    ("id", "text"),
    ("type", "text"),
    ("campaign_id", "uuid"),
    ("execution_id", "uuid"),
    ("contact_id", "uuid"),
    ("telegram_id", "bigint"),
    ("chat_kind", "text"),
    ("message_id", "text"),
    ("variation_id", "text"),
    ("code", "text"),
    ("message", "text"),
    ("account", "text"),
    ("telegram_message_id", "bigint"),
    ("occurred_at", "timestamptz"),
    ("segment_ids", "text"),
    ("cost", "double precision"),
)


async def raw_inserts(database_url: str, events: list[DeliveryEvent]) -> float:
    """Seconds to insert one row per event (its fields, ``id`` the primary key) into a plain
    table, ``BATCH`` rows per statement and transaction, from one connection; the rows'
    column arrays are built before the clock starts."""
    names = [name for name, _ in RAW_COLUMNS]
    batches = []
    for offset in range(0, len(events), BATCH):
        chunk = events[offset : offset + BATCH]
        batches.append(
            [
                [
                    ",".join(event.segment_ids) if name == "segment_ids" else getattr(event, name)
                    for event in chunk
                ]
                for name in names
            ]
        )
    insert = (
        f"INSERT INTO bench_raw_deliveries ({', '.join(names)}) SELECT * FROM unnest("
        + ", ".join(f"%s::{kind}[]" for _, kind in RAW_COLUMNS)
        + ")"
    )
    async with await connect(database_url) as conn:
        await conn.execute("DROP TABLE IF EXISTS bench_raw_deliveries")
        await conn.execute(
            "CREATE TABLE bench_raw_deliveries ("
            + ", ".join(f"{name} {kind}" for name, kind in RAW_COLUMNS)
            + ", PRIMARY KEY (id))"
        )
        await conn.commit()
        started = time.perf_counter()
        for columns in batches:
            await conn.execute(insert, columns)
            await conn.commit()
        seconds = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_raw_deliveries")
        await conn.commit()
    return seconds


# Lag -------------------------------------------------------------------------------------


# (wall time, ms from the newest event applied to the newest outcome committed or None before
# the first outcome, events in the stream not yet applied, ms from the newest event applied to
# the newest event in the stream)
Sample = tuple[float, float | None, int, float]


async def _sample_lag(platform: Platform, samples: list[Sample], stop: asyncio.Event) -> None:
    """Every 100 ms, a ``Sample``."""
    subjects = subjects_for(platform.namespace)
    consumer = _consumer(platform.namespace)
    nc = await nats.connect(platform.nats_url)
    try:
        js = nc.jetstream()
        async with await connect(platform.database_url, autocommit=True) as conn:
            while not stop.is_set():
                info = await js.stream_info(subjects.delivery_events_stream)
                newest, applied, seq = await (
                    await conn.execute(
                        "SELECT (SELECT max(finished_at) FROM dispatcher.deliveries),"
                        # Before the first event applied: behind since the first outcome.
                        " coalesce((SELECT max(last_at) FROM projection.delivery_stats),"
                        "  (SELECT min(finished_at) FROM dispatcher.deliveries)),"
                        " (SELECT stream_seq FROM projection.checkpoints WHERE consumer = %s)",
                        (consumer,),
                    )
                ).fetchone()  # type: ignore[misc]
                lag = None
                if newest is not None:
                    lag = max(0.0, (newest - applied).total_seconds() * 1000)
                in_stream = 0.0
                if info.state.last_seq and applied is not None:
                    last = await js.get_msg(subjects.delivery_events_stream, info.state.last_seq)
                    published = datetime.fromisoformat(msgspec.json.decode(last.data)["occurredAt"])
                    in_stream = max(0.0, (published - applied).total_seconds() * 1000)
                samples.append((time.time(), lag, info.state.last_seq - (seq or 0), in_stream))
                await asyncio.sleep(0.1)
    finally:
        await nc.close()


async def lag_while_sending(server_url: str, nats_url: str) -> dict[str, Any]:
    """The projection's lag, sampled while 50,000 messages are sent unthrottled."""
    async with _platform(server_url, nats_url, UNTHROTTLED) as platform:
        samples: list[Sample] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_lag(platform, samples, stop))
        try:
            timings = await _pipeline_run(platform, PIPELINE_CONTACTS)
            async with await connect(platform.database_url, autocommit=True) as conn:
                first, last = await (
                    await conn.execute(
                        "SELECT extract(epoch FROM min(finished_at))::float8,"
                        " extract(epoch FROM max(finished_at))::float8 FROM dispatcher.deliveries"
                    )
                ).fetchone()  # type: ignore[misc]
                consumer = _consumer(platform.namespace)
                # Then until the projection has applied the last outcome.
                deadline = time.monotonic() + 120
                while samples[-1][2] > 0 or (samples[-1][1] or 0) > 0:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the projection did not catch up: {samples[-1]}")
                    await asyncio.sleep(0.1)
                applied = await _checkpoint(conn, consumer)
        finally:
            stop.set()
            await sampler
    sending = [s for s in samples if first <= s[0] <= last and s[1] is not None]
    caught_up = next(s[0] for s in samples if s[0] >= last and s[1] == 0 and s[2] == 0)
    return {
        "timings": timings,
        "samples": len(sending),
        "time_ms": [s[1] for s in sending],
        # The largest time lags, as (seconds after the first outcome, ms).
        "worst": sorted(((s[0] - first, s[1]) for s in sending), key=lambda w: -w[1])[:5],
        "events": [float(s[2]) for s in sending],
        "stream_ms": [s[3] for s in sending],
        "drain": caught_up - last,
        "applied": applied,
        "sending_seconds": last - first,
    }


# Figures ---------------------------------------------------------------------------------


async def run(platform: Platform, server_url: str, seconds: float) -> tuple[list[Row], list[str]]:
    """The three scenarios (throughput and queries on ``platform``, which has its projection
    restarted; lag on a platform of its own); their rows and notes."""
    throughput = await projection_throughput(platform)
    queries, seeding, sent = await query_latency(platform, seconds / 3)
    lag = await lag_while_sending(server_url, platform.nats_url)

    ratio = throughput["per_second"] / throughput["raw"]
    rows = [
        Row(
            f"projection applies {throughput['count']:,} delivery events (backlog, "
            f"{CAMPAIGNS} campaigns)",
            f"{throughput['per_second']:,.0f} events/s (restart → caught up "
            f"{throughput['catch_up']:.1f} s)",
            f"raw PostgreSQL: {throughput['count']:,} rows of an event's fields, "
            f"{BATCH} per INSERT … unnest and transaction, 1 connection: "
            f"{throughput['raw']:,.0f} rows/s",
            ratio,
            f"≥ {THROUGHPUT_TARGET} of raw",
            ratio >= THROUGHPUT_TARGET,
        )
    ]
    time_p99 = percentile(lag["time_ms"], 0.99)
    rows.append(
        Row(
            f"projection lag while sending {PIPELINE_CONTACTS:,} messages unthrottled",
            f"newest outcome - newest applied: p50 {percentile(lag['time_ms'], 0.5):.0f} ms, "
            f"p99 {time_p99:.0f} ms, max {max(lag['time_ms']):.0f} ms; events not applied: "
            f"p50 {percentile(lag['events'], 0.5):,.0f}, "
            f"p99 {percentile(lag['events'], 0.99):,.0f}; "
            f"newest in the stream - newest applied: p50 {percentile(lag['stream_ms'], 0.5):.0f} "
            f"ms, p99 {percentile(lag['stream_ms'], 0.99):.0f} ms"
            f" ({lag['samples']} samples)",
            f"the send: {PIPELINE_CONTACTS / lag['timings']['last']:,.0f} messages/s",
            None,
            f"p99 < {LAG_P99_TARGET_MS:.0f} ms",
            time_p99 < LAG_P99_TARGET_MS,
        )
    )
    for path, through, raw, statements in queries:
        name = path.rsplit("/", 1)[1]
        p99 = through.ms(0.99)
        rows.append(
            Row(
                f"GET …/{name}, 1,000,000 deliveries, {QUERY_CLIENTS} clients",
                f"{through.per_second:,.0f} requests/s (p50 {through.ms(0.5):.1f} ms, "
                f"p99 {p99:.1f} ms)"
                + (f", **{through.errors:,} failed**" if through.errors else ""),
                f"the same SQL ({statements} statements) on PostgreSQL, {QUERY_CLIENTS} "
                f"connections: {raw.per_second:,.0f}/s (p50 {raw.ms(0.5):.1f} ms, p99 "
                f"{raw.ms(0.99):.1f} ms)",
                through.per_second / raw.per_second,
                f"p99 < {QUERY_P99_TARGET_MS:.0f} ms",
                p99 < QUERY_P99_TARGET_MS and not through.errors,
            )
        )
    timings = lag["timings"]
    notes = [
        f"Projection throughput: {throughput['count']:,} events published with the projection "
        f"stopped ({throughput['publish']:.1f} s, pipelined `publish_async`), then it was "
        "started and timed from its checkpoint's first move to the stream's last sequence "
        "(checkpoint polled every 20 ms); `delivery_stats` then summed to "
        f"{throughput['count']:,}. CPU from restart to caught up: {throughput['cpu']}. The raw "
        "rows are built before their clock starts; the table has the event's 16 fields, "
        "`id` its primary key.",
        f"Lag: the sending pipeline ({PIPELINE_CONTACTS:,} recipients, limits off, a platform "
        f"of its own), sampled every 100 ms over the {lag['sending_seconds']:.1f} s from the "
        "first outcome committed to the last: `max(finished_at)` of `dispatcher.deliveries` - "
        "`max(last_at)` of `projection.delivery_stats` (0 when all is applied), and the "
        "delivery stream's last sequence - the projection's checkpoint; and the `occurredAt` "
        "of the stream's last message - `max(last_at)`: the projection's share of the lag, the "
        "rest being the dispatcher publishing what it committed. After the last "
        f"outcome the projection had applied everything within {lag['drain'] * 1000:.0f} ms. "
        "Largest time lags (s after the first outcome: ms): "
        + ", ".join(f"{at:.1f}: {ms:.0f}" for at, ms in lag["worst"])
        + ". "
        f"The send: execute → last outcome {timings['last']:.1f} s; CPU {timings['cpu']}.",
        f"Queries: the campaign's read model seeded with SQL ({seeding:.1f} s): its "
        f"`delivery_stats` row ({sent:,} messages sent, as the API answered), {DAYS * 24} rows "
        f"of `delivery_hours` among {OTHER_CAMPAIGNS:,} other campaigns' {DAYS} days "
        f"({(OTHER_CAMPAIGNS + 1) * DAYS * 24:,} rows), 120 of `delivery_seconds`, "
        f"{len(ERRORS)} error codes, 3 arms, 3 segments; the campaign `active` (progress "
        "reads the rate). The raw SQL is what `statistics_view` executed for the same request "
        "(recorded from it), each request one transaction. Each run lasts "
        f"{seconds / 3:.0f} s, HTTP first.",
    ]
    return rows, notes
