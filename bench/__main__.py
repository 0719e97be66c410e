"""``make bench``: run the benchmarks, print the figures, record them in docs/benchmarks.md.

Every figure stands beside a baseline measured in the same run on the same servers, so the
ratio means something on a noisy machine. The platform runs as real processes against a
database and a namespace of its own (nothing of ``make run`` or the tests is touched).

Creates run first; then the read model is seeded with 100,000 campaigns for list and get.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import psycopg

from bench import (
    campaign_statistics,
    contacts_import,
    list_campaigns,
    segment_count,
    sending,
    webhooks,
)
from bench.baselines import single_row_commits
from bench.create_campaigns import command_path, event_store, http_path, login
from bench.figures import Row, Throughput, record, table
from telecast_devenv import resolve
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.jetstream import delete_streams
from telecast_devenv.platform import Platform

CLIENTS = 16
CREATE_TARGET = 0.5
SEARCH_P99_TARGET_MS = 20.0


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
    parser.add_argument(
        "--only",
        choices=["create", "read", "contacts", "webhooks", "sending", "statistics", "segments"],
        help="run one group of benchmarks (a partial run only prints, it is not recorded)",
    )
    parser.add_argument(
        "--read-clients",
        type=int,
        default=CLIENTS,
        help=f"concurrent clients of the list/get runs (default {CLIENTS}; the target is at 16)",
    )
    args = parser.parse_args()

    infra = resolve("test")
    database = f"telecast_bench_{secrets.token_hex(4)}"
    namespace = f"b{secrets.token_hex(4)}"
    database_url = create_database(infra.database_url, database)
    logs = Path(tempfile.mkdtemp(prefix="telecast-bench-"))
    platform = Platform(database_url, infra.nats_url, namespace, logs)
    try:
        platform.start()
        rows, notes, details = asyncio.run(
            _run(
                platform,
                database_url,
                infra.database_url,
                args.seconds,
                args.only,
                args.read_clients,
            )
        )
    finally:
        platform.stop()
        asyncio.run(delete_streams(infra.nats_url, f"{namespace.upper()}_"))
        drop_database(infra.database_url, database)
        infra.stop()
    print(details)
    print(table(rows))
    for note in notes:
        print(f"- {note}")
    if not args.no_record and args.only is None and args.read_clients == CLIENTS:
        record(args.record, rows, notes, details)
        print(f"recorded in {args.record}")


async def _run(
    platform: Platform,
    database_url: str,
    server_url: str,
    seconds: float,
    only: str | None,
    read_clients: int,
) -> tuple[list[Row], list[str], str]:
    rows: list[Row] = []
    notes: list[str] = []
    details = ""
    if only in (None, "create"):
        rows, notes = await _creates(platform, database_url, seconds)
    if only in (None, "read"):
        read_rows, read_notes, details = await _reads(platform, database_url, seconds, read_clients)
        rows += read_rows
        notes += read_notes
    if only in (None, "contacts"):
        token = await login(platform.base_url)
        import_rows, import_notes = await contacts_import.measure(platform, database_url, token)
        rows += import_rows
        notes += import_notes
    if only in (None, "webhooks"):
        webhook_row, webhook_note = await webhooks.deliveries(platform, database_url)
        rows.append(webhook_row)
        notes.append(webhook_note)
    if only in (None, "sending"):
        # Each scenario on a platform, database and simulator of its own (their limits are
        # settings read at start); the platform above stays idle meanwhile.
        sending_rows, sending_notes = await sending.run(server_url, platform.nats_url)
        rows += sending_rows
        notes += sending_notes
    if only in (None, "statistics"):
        # Restarts this platform's projection; its lag scenario runs on a platform of its own.
        statistics_rows, statistics_notes = await campaign_statistics.run(
            platform, server_url, seconds
        )
        rows += statistics_rows
        notes += statistics_notes
    # Last: its million contacts would slow anything that writes contacts after it.
    if only in (None, "segments"):
        token = await login(platform.base_url)
        segment_rows, segment_notes = await segment_count.run(
            platform.base_url, token, database_url
        )
        rows += segment_rows
        notes += segment_notes
    notes.append(
        f"Each timed run lasts {seconds:.0f} s; the gateway, campaign and projection "
        "services, PostgreSQL, NATS and the load generator share the machine's cores."
    )
    return rows, notes, details


async def _creates(
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
    ]
    return rows, notes


async def _reads(
    platform: Platform, database_url: str, seconds: float, clients: int
) -> tuple[list[Row], list[str], str]:
    """List and get with 100,000 campaigns: through the gateway, and their SQL alone."""
    # The creates' events are applied by now (or there were none): the follower has nothing
    # left to write, and the seeded rows have no events of their own.
    await drained(database_url)
    seeding = await list_campaigns.seed(database_url)
    token = await login(platform.base_url)
    cases = await list_campaigns.cases(database_url)
    totals = await list_campaigns.check_answers(platform.base_url, token, database_url)
    for case in cases:  # warm up: caches, connections, prepared statements
        await list_campaigns.http_reads(platform.base_url, token, clients, 1.0, case.next_query)
    plans = {
        case.name: await list_campaigns.explain(database_url, case.next_query()) for case in cases
    }
    search_case = next(case for case in cases if case.target)
    search_plans = plans[search_case.name]
    indexed = "Bitmap Index Scan on campaigns_search" in search_plans[0] and not any(
        "Seq Scan" in plan for plan in search_plans
    )

    # Eight timed runs: shorter ones keep the whole of make bench within a few minutes.
    run = seconds * 2 / 3
    rows = []
    for case in cases:
        through = await list_campaigns.http_reads(
            platform.base_url, token, clients, run, case.next_query
        )
        raw = await list_campaigns.raw_reads(database_url, clients, run, case.next_query)
        statements = len(await list_campaigns.statements(case.next_query()))
        what = {1: "one SELECT", 2: "count + page"}.get(statements, f"{statements} statements")
        p99 = through.ms(0.99)
        rows.append(
            Row(
                f"{case.name}, {clients} clients",
                f"{through.per_second:,.0f} requests/s (p50 {through.ms(0.5):.1f} ms, "
                f"p99 {p99:.1f} ms)"
                + (f", **{through.errors:,} failed**" if through.errors else ""),
                f"the same SQL ({what}) on PostgreSQL, {clients} connections: "
                f"{raw.per_second:,.0f}/s (p50 {raw.ms(0.5):.1f} ms, p99 {raw.ms(0.99):.1f} ms)",
                through.per_second / raw.per_second,
                f"p99 < {SEARCH_P99_TARGET_MS:.0f} ms" if case.target else "-",
                p99 < SEARCH_P99_TARGET_MS and not through.errors if case.target else None,
            )
        )

    matches = ", ".join(f"`{path}` {total:,}" for path, total in totals.items())
    notes = [
        f"List and get run with {list_campaigns.CAMPAIGNS:,} campaigns in the read model, "
        f"seeded straight into `projection.campaigns` (COPY, then VACUUM ANALYZE; "
        f"{seeding:.0f} s), not created through the API. Totals: {matches}.",
        "The raw rows run the statements `campaign_view` executes for the same query "
        "(recorded from it), from as many psycopg connections, each request one transaction "
        "as in the projection; ratio = telecast requests/s ÷ raw requests/s. Each list/get "
        f"run lasts {run:.0f} s, the telecast run first, then the raw one.",
        "Plans this run: "
        + "; ".join(
            f"{name}: " + " / ".join(list_campaigns.plan_outline(plan) for plan in case_plans)
            for name, case_plans in plans.items()
        )
        + ".",
        "The search "
        + (
            "uses the full-text index (Bitmap Index Scan on campaigns_search, no Seq Scan)."
            if indexed
            else "**does not use the full-text index campaigns_search** (see its plan)."
        ),
    ]
    details = "\n".join(
        [
            f"EXPLAIN ANALYZE of `{list_campaigns.http_path(search_case.next_query())}` "
            "(each statement as prepared by psycopg, after the timed runs' warm-up):",
            "",
            "```",
            "\n\n".join(search_plans),
            "```",
        ]
    )
    return rows, notes, details


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
