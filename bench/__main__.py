"""``make bench``: run the benchmarks, print the figures, record them in docs/benchmarks.md.

Every figure stands beside a baseline measured in the same run on the same servers, so the
ratio means something on a noisy machine. The platform runs as real processes against a
database and a namespace of its own (nothing of ``make run`` or the tests is touched).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import psycopg

from bench import contacts_import, segment_count, webhooks
from bench.baselines import single_row_commits
from bench.create_campaigns import command_path, event_store, http_path, login
from bench.figures import Row, Throughput, record, table
from telecast_devenv import resolve
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.jetstream import delete_streams
from telecast_devenv.platform import Platform

CLIENTS = 16
CREATE_TARGET = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each timed run")
    parser.add_argument(
        "--record",
        type=Path,
        default=Path("docs/benchmarks.md"),
        help="markdown file whose generated part receives the figures",
    )
    parser.add_argument("--no-record", action="store_true", help="only print")
    args = parser.parse_args()

    infra = resolve("test")
    database = f"telecast_bench_{secrets.token_hex(4)}"
    namespace = f"b{secrets.token_hex(4)}"
    database_url = create_database(infra.database_url, database)
    logs = Path(tempfile.mkdtemp(prefix="telecast-bench-"))
    platform = Platform(database_url, infra.nats_url, namespace, logs)
    try:
        platform.start()
        rows, notes = asyncio.run(_run(platform, database_url, args.seconds))
    finally:
        platform.stop()
        asyncio.run(delete_streams(infra.nats_url, f"{namespace.upper()}_"))
        drop_database(infra.database_url, database)
        infra.stop()
    print(table(rows))
    for note in notes:
        print(f"- {note}")
    if not args.no_record:
        record(args.record, rows, notes)
        print(f"recorded in {args.record}")


async def _run(
    platform: Platform, database_url: str, seconds: float
) -> tuple[list[Row], list[str]]:
    token = await login(platform.base_url)
    # Warm up connections and every service's first-call paths.
    await http_path(platform.base_url, token, CLIENTS, 2.0)

    raw_one = await single_row_commits(database_url, 1, seconds)
    raw = await single_row_commits(database_url, CLIENTS, seconds)
    raw_text = (
        f"raw PostgreSQL single-row insert+commit, {CLIENTS} connections: "
        f"{raw.per_second:,.0f}/s (1 connection: {raw_one.per_second:,.0f}/s)"
    )
    # Each run starts once the previous one's events are published and projected, so
    # that no run pays for its predecessor's backlog.
    creates = await http_path(platform.base_url, token, CLIENTS, seconds)
    await drained(database_url)
    commands = await command_path(platform.nats_url, platform.namespace, CLIENTS, seconds)
    await drained(database_url)
    batched = await asyncio.to_thread(event_store, database_url, CLIENTS, seconds)
    await drained(database_url)
    alone = await asyncio.to_thread(event_store, database_url, 1, seconds)
    await drained(database_url)

    def row(name: str, result: Throughput, what: str, target: bool) -> Row:
        ratio = result.per_second / raw.per_second
        return Row(
            name,
            f"{result.per_second:,.0f} {what}/s (p50 {result.ms(0.5):.1f} ms, "
            f"p99 {result.ms(0.99):.1f} ms)",
            raw_text,
            ratio,
            f"≥ {CREATE_TARGET} of raw" if target else "(locates the limit)",
            ratio >= CREATE_TARGET if target else None,
        )

    rows = [
        row(f"create campaign via HTTP, {CLIENTS} clients", creates, "commands", True),
        row(f"create command over NATS, {CLIENTS} clients", commands, "commands", False),
        row(f"event store, batches of {CLIENTS}", batched, "creates", False),
        row("event store, one create per transaction", alone, "creates", False),
    ]
    notes = [
        "A create over HTTP is answered only once the campaign is readable: it includes the "
        "event store commit, the relay's JetStream publish and the projection's commit.",
        "p50/p99 of the event store rows are per transaction (a batch).",
        f"Each timed run lasts {seconds:.0f} s; the gateway, campaign and projection "
        "services, PostgreSQL, NATS and the load generator share the machine's cores.",
    ]
    import_rows, import_notes = await contacts_import.measure(platform, database_url, token)
    rows, notes = rows + import_rows, notes + import_notes
    webhook_row, webhook_note = await webhooks.deliveries(platform, database_url)
    rows, notes = [*rows, webhook_row], [*notes, webhook_note]
    segment_rows, segment_notes = await segment_count.run(platform.base_url, token, database_url)
    return rows + segment_rows, notes + segment_notes


async def drained(database_url: str, timeout: float = 300.0) -> None:
    """Wait until every stored event is published by the relay and applied by the projection."""
    deadline = time.monotonic() + timeout
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = await (
                await conn.execute(
                    "SELECT (SELECT max(notification_id) FROM campaign.campaigns_events),"
                    " (SELECT position FROM campaign.relay_position),"
                    " (SELECT max(position) FROM projection.checkpoints)"
                )
            ).fetchone()
            if row[0] is None or row[0] == row[1] == row[2]:
                return
            await asyncio.sleep(0.2)
    raise TimeoutError("the platform did not drain its backlog")


if __name__ == "__main__":
    main()
