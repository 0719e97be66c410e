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
from pathlib import Path

from bench.baselines import single_row_commits
from bench.create_campaigns import create_campaigns, login
from bench.figures import Row, record, table
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
    # Warm up: connections, caches, the first JIT-less paths of every service.
    await create_campaigns(platform.base_url, token, CLIENTS, 2.0)

    raw_one = await single_row_commits(database_url, 1, seconds)
    raw = await single_row_commits(database_url, CLIENTS, seconds)
    creates = await create_campaigns(platform.base_url, token, CLIENTS, seconds)
    ratio = creates.per_second / raw.per_second
    rows = [
        Row(
            f"create campaign via HTTP, {CLIENTS} clients",
            f"{creates.per_second:,.0f} commands/s (p50 {creates.ms(0.5):.1f} ms, "
            f"p99 {creates.ms(0.99):.1f} ms)",
            f"raw PostgreSQL single-row insert+commit, {CLIENTS} connections: "
            f"{raw.per_second:,.0f}/s (1 connection: {raw_one.per_second:,.0f}/s)",
            ratio,
            f"≥ {CREATE_TARGET} of raw",
            ratio >= CREATE_TARGET,
        )
    ]
    notes = [
        "A create is answered only once the campaign is readable: the figure includes the "
        "event store commit, the relay's JetStream publish and the projection's commit.",
        f"Each timed run lasts {seconds:.0f} s; the gateway, campaign and projection "
        "services, PostgreSQL, NATS and the load generator share the machine's cores.",
    ]
    return rows, notes


if __name__ == "__main__":
    main()
