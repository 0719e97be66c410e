"""Sending through the Telegram simulator: pipeline throughput, rate fidelity, planning a
million recipients, pause latency.

Each scenario runs on a platform of its own (database, NATS namespace and simulator), since
the dispatcher's and the simulator's limits are settings read at start:

- **pipeline**: limits off (``TELEGRAM_BOT_RATE=0``; the simulator with no account rate and
  no latency; ``GUARD_MAX_ERROR_RATE=1``), 50,000 contacts COPYed into
  ``campaign.contacts``, one campaign executed over HTTP; timed from the execute answer to
  the last outcome committed to the ledger (and to ``campaign.completed``). Beside it, in
  the same run, raw JetStream: as many messages of a delivery event's size published
  (pipelined) into a fresh stream and consumed by a pull consumer. Then again with two
  accounts;
- **rate and pause**: one account at 30/s against a simulator limiting at 30/s; the accepted
  messages of a 60-second window (from 5 s after the first) against 60 x 30, every sliding
  window audited; then five pauses over HTTP, each measured to the last message the
  simulator accepted, each followed by a resume;
- **planning**: 1,000,000 contacts, a campaign executed at the normal rate; timed from the
  execute answer until the dispatcher has planned every recipient, with the dispatcher's and
  the campaign service's peak resident memory.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench.baselines import jetstream_round_trip
from bench.contacts_import import COPY_COLUMNS, copy_rows, peak_rss_mb, profiles
from bench.create_campaigns import login
from bench.figures import Row
from bench.processes import CpuMeter
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.jetstream import delete_streams
from telecast_devenv.platform import Platform
from telecast_dispatcher.sending.events import DELIVERY_COLUMNS, delivery_event
from telecast_libs.contracts.base import encode
from telecast_telegram_sim.audit import limit_violations, sent_messages, sent_rows

PIPELINE_CONTACTS = 50_000
PIPELINE_TARGET = 5_000.0
PIPELINE_RATIO_TARGET = 0.5
# (accounts, dispatcher replicas): the target is at one account; the others locate the limit.
PIPELINE_SHAPES = ((1, 1), (2, 1), (2, 2))
RATE = 30
RATE_WARM_UP = 5.0
RATE_WINDOW = 60.0
# Enough for the rate window and the pauses at 30/s, with room to spare.
RATE_CONTACTS = 3_600
FIDELITY_TARGET = 0.99
PAUSES = 5
PAUSE_TARGET = 1.0
PLANNING_CONTACTS = 1_000_000
PLANNING_TARGET = 60.0
PLANNING_RSS_TARGET_MB = 150.0
FIRST_ID = 9_000_000_000
COPY_CHUNK = 20_000

UNTHROTTLED = {
    "TELEGRAM_BOT_RATE": "0",
    "TELEGRAM_SIM_ACCOUNT_RATE": "0",
    "TELEGRAM_SIM_LATENCY_MS": "0",
    "TELEGRAM_SIM_JITTER_MS": "0",
    "GUARD_MAX_ERROR_RATE": "1",
}
LIMITED = {"TELEGRAM_BOT_RATE": str(RATE), "TELEGRAM_SIM_ACCOUNT_RATE": str(RATE)}
CAMPAIGN = {
    "name": "Sending benchmark",
    "type": "message",
    "messages": [{"content": "Hello {{firstName}}, 20% off this week only!"}],
}


@asynccontextmanager
async def _platform(
    server_url: str, nats_url: str, env: dict[str, str], replicas: int = 1
) -> AsyncIterator[Platform]:
    """A platform of its own (database, namespace, logs), started with ``env`` and
    ``replicas`` dispatcher processes."""
    database = f"telecast_bench_send_{secrets.token_hex(4)}"
    namespace = f"s{secrets.token_hex(4)}"
    database_url = create_database(server_url, database)
    logs = Path(tempfile.mkdtemp(prefix="telecast-bench-sending-"))
    platform = Platform(database_url, nats_url, namespace, logs, env=env)
    for n in range(2, replicas + 1):
        platform.add_replica("dispatcher", f"dispatcher_{n}")
    try:
        await asyncio.to_thread(platform.start)
        yield platform
    finally:
        await asyncio.to_thread(platform.stop)
        await delete_streams(nats_url, f"{namespace.upper()}_")
        drop_database(server_url, database)


async def _seed(database_url: str, count: int) -> float:
    """COPY ``count`` contacts (the import benchmark's profiles) into campaign.contacts,
    streamed in chunks, then VACUUM ANALYZE; seconds."""
    started = time.perf_counter()
    rows = copy_rows(count, FIRST_ID, profiles())
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        statement = f"COPY campaign.contacts ({COPY_COLUMNS}) FROM STDIN"
        async with conn.cursor().copy(statement) as copy:
            while chunk := "".join(islice(rows, COPY_CHUNK)):
                await copy.write(chunk.encode())
        await conn.execute("VACUUM (ANALYZE) campaign.contacts")
    return time.perf_counter() - started


class Campaigns:
    """The campaign endpoints the scenarios use, timed on the wall clock (the ledger's and
    the simulator's timestamps are compared with it)."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http

    @classmethod
    @asynccontextmanager
    async def session(cls, platform: Platform) -> AsyncIterator[Campaigns]:
        token = await login(platform.base_url)
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(platform.base_url, headers=headers) as http:
            yield cls(http)

    async def _post(self, path: str, body: dict | None = None) -> tuple[dict, float, float]:
        asked = time.time()
        async with self.http.post(path, json=body or {}) as answer:
            data = await answer.json()
            answered = time.time()
        if answer.status >= 300:
            raise RuntimeError(f"POST {path} answered {answer.status}: {data}")
        return data["data"], asked, answered

    async def create(self) -> str:
        data, _, _ = await self._post("/api/v1/campaigns", CAMPAIGN)
        return data["id"]

    async def execute(self, campaign_id: str) -> tuple[str, float]:
        """The execution's id and when the answer came."""
        data, _, answered = await self._post(f"/api/v1/campaigns/{campaign_id}/execute")
        return data["executionId"], answered

    async def pause(self, campaign_id: str) -> tuple[float, float]:
        _, asked, answered = await self._post(f"/api/v1/campaigns/{campaign_id}/pause")
        return asked, answered

    async def resume(self, campaign_id: str) -> None:
        await self._post(f"/api/v1/campaigns/{campaign_id}/resume")

    async def status(self, campaign_id: str) -> str:
        async with self.http.get(f"/api/v1/campaigns/{campaign_id}") as answer:
            return (await answer.json())["data"]["status"]


async def _scalar(conn: psycopg.AsyncConnection, query: str, params: tuple = ()) -> object:
    row = await (await conn.execute(query, params)).fetchone()
    return row[0] if row else None


async def _accepted(conn: psycopg.AsyncConnection, execution_id: str, before: float) -> int:
    return await _scalar(  # type: ignore[return-value]
        conn,
        "SELECT count(*) FROM telegram_sim.messages WHERE reference LIKE %s "
        "AND accepted_at < to_timestamp(%s)",
        (f"{execution_id}:%", before),
    )


# Pipeline --------------------------------------------------------------------------------


async def _pipeline_run(platform: Platform, contacts: int) -> dict[str, float]:
    """Seed, execute, wait for the campaign's completion; the timings (wall clock)."""
    seeding = await _seed(platform.database_url, contacts)
    async with (
        Campaigns.session(platform) as api,
        await psycopg.AsyncConnection.connect(platform.database_url, autocommit=True) as conn,
    ):
        campaign_id = await api.create()
        meter = CpuMeter(platform)
        meter.start()
        execution_id, executed = await api.execute(campaign_id)
        deadline = time.monotonic() + 600
        while not await _scalar(
            conn,
            "SELECT finished_at IS NOT NULL FROM dispatcher.executions WHERE execution_id = %s",
            (execution_id,),
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the execution did not finish:\n{platform.logs()}")
            await asyncio.sleep(0.05)
        meter.stop()
        while await api.status(campaign_id) != "completed":
            if time.monotonic() > deadline:
                raise TimeoutError(f"the campaign was not completed:\n{platform.logs()}")
            await asyncio.sleep(0.05)
        completed = time.time()
        sent, failed, planned_at = await (
            await conn.execute(
                "SELECT sent, failed, extract(epoch FROM planned_at)::float8 "
                "FROM dispatcher.executions WHERE execution_id = %s",
                (execution_id,),
            )
        ).fetchone()  # type: ignore[misc]
        last_outcome = await _scalar(
            conn,
            "SELECT extract(epoch FROM max(finished_at))::float8 FROM dispatcher.deliveries "
            "WHERE execution_id = %s",
            (execution_id,),
        )
        first_accept, accepted, distinct = await (
            await conn.execute(
                "SELECT extract(epoch FROM min(accepted_at))::float8, count(*), "
                "count(DISTINCT reference) FROM telegram_sim.messages WHERE reference LIKE %s",
                (f"{execution_id}:%",),
            )
        ).fetchone()  # type: ignore[misc]
        row = await (
            await conn.execute(
                f"SELECT {DELIVERY_COLUMNS} FROM dispatcher.deliveries d "
                "WHERE execution_id = %s LIMIT 1",
                (execution_id,),
            )
        ).fetchone()
        by_account = await (
            await conn.execute(
                "SELECT account, count(*) FROM telegram_sim.messages WHERE reference LIKE %s "
                "GROUP BY account ORDER BY account",
                (f"{execution_id}:%",),
            )
        ).fetchall()
    if (sent, failed, accepted, distinct) != (contacts, 0, contacts, contacts):
        raise RuntimeError(
            f"{contacts} recipients: {sent} sent, {failed} failed in the ledger; "
            f"{accepted} accepted by the simulator ({distinct} distinct)"
        )
    last = last_outcome - executed  # type: ignore[operator]
    return {
        "seeding": seeding,
        "cpu": meter.outline(),
        "cpu_share": {name: used / last for name, used in meter.used.items()},
        "accounts": ", ".join(f"{account} {count:,}" for account, count in by_account),
        "planned": planned_at - executed,
        "first": first_accept - executed,
        "last": last,
        "completed": completed - executed,
        "event_bytes": len(encode(delivery_event(row, secrets.token_hex(16)))),
    }


async def _pipeline(server_url: str, nats_url: str, accounts: int, replicas: int) -> dict[str, Any]:
    env = {**UNTHROTTLED}
    if accounts > 1:
        env["TELEGRAM_SIM_ACCOUNTS"] = ",".join(f"sim-bot-{n}" for n in range(1, accounts + 1))
    async with _platform(server_url, nats_url, env, replicas) as platform:
        timings = await _pipeline_run(platform, PIPELINE_CONTACTS)
        publish, consume = await jetstream_round_trip(
            nats_url, platform.namespace, PIPELINE_CONTACTS, int(timings["event_bytes"])
        )
        timings["raw_publish"], timings["raw_consume"] = publish, consume
        timings["rss_dispatcher"] = peak_rss_mb(platform, "dispatcher")
        timings["rss_sim"] = peak_rss_mb(platform, "telegram_sim")
    return timings


# Rate fidelity and pauses ----------------------------------------------------------------


def _busiest_second(times: list[float]) -> int:
    """The most accepts in any sliding 1-second window."""
    best, left = 0, 0
    for right, now in enumerate(times):
        while times[left] <= now - 1.0:
            left += 1
        best = max(best, right - left + 1)
    return best


async def _rate_and_pauses(server_url: str, nats_url: str) -> dict[str, object]:
    async with _platform(server_url, nats_url, LIMITED) as platform:
        await _seed(platform.database_url, RATE_CONTACTS)
        url = platform.database_url
        async with (
            Campaigns.session(platform) as api,
            await psycopg.AsyncConnection.connect(url, autocommit=True) as conn,
        ):
            campaign_id = await api.create()
            execution_id, _ = await api.execute(campaign_id)
            prefix = f"{execution_id}:%"
            while not (
                first := await _scalar(
                    conn,
                    "SELECT extract(epoch FROM min(accepted_at))::float8 "
                    "FROM telegram_sim.messages WHERE reference LIKE %s",
                    (prefix,),
                )
            ):
                await asyncio.sleep(0.1)
            window_start = first + RATE_WARM_UP  # type: ignore[operator]
            window_end = window_start + RATE_WINDOW
            await asyncio.sleep(max(0.0, window_end + 1.0 - time.time()))

            pauses: list[tuple[float, float]] = []
            before_pauses: list[int] = []
            for _ in range(PAUSES):
                asked, answered = await api.pause(campaign_id)
                before_pauses.append(
                    await _accepted(conn, execution_id, asked)
                    - await _accepted(conn, execution_id, asked - 1.0)
                )
                await asyncio.sleep(2.0)
                resumed = time.time()
                last = await _scalar(
                    conn,
                    "SELECT extract(epoch FROM max(accepted_at))::float8 FROM "
                    "telegram_sim.messages WHERE reference LIKE %s AND accepted_at < "
                    "to_timestamp(%s)",
                    (prefix, resumed),
                )
                pauses.append((last - answered, last - asked))  # type: ignore[operator]
                await api.resume(campaign_id)
                # Sending again, for a while, before the next pause.
                sending = await _accepted(conn, execution_id, time.time() + 3600)
                while await _accepted(conn, execution_id, time.time() + 3600) == sending:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(2.0)
            status = await api.status(campaign_id)
        messages = await sent_messages(url, "reference LIKE %s", (prefix,))
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            violations = await _scalar(conn, "SELECT count(*) FROM telegram_sim.violations")
            floods = await _scalar(
                conn, "SELECT count(*) FROM telegram_sim.refusals WHERE over_limit"
            )
    times = [m["accepted_at"].timestamp() for m in messages]
    in_window = sum(1 for t in times if window_start <= t < window_end)
    return {
        "in_window": in_window,
        "busiest": _busiest_second(times),
        "audit": limit_violations(sent_rows(messages), RATE, 1, 20),
        "violations": violations,
        "floods": floods,
        "accepted": len(messages),
        "pauses": pauses,
        "before_pauses": before_pauses,
        "status": status,
    }


# Planning --------------------------------------------------------------------------------


async def _planning(server_url: str, nats_url: str) -> dict[str, float]:
    async with _platform(server_url, nats_url, LIMITED) as platform:
        seeding = await _seed(platform.database_url, PLANNING_CONTACTS)
        idle = {s: peak_rss_mb(platform, s) for s in ("dispatcher", "campaign")}
        async with (
            Campaigns.session(platform) as api,
            await psycopg.AsyncConnection.connect(platform.database_url, autocommit=True) as conn,
        ):
            campaign_id = await api.create()
            execution_id, executed = await api.execute(campaign_id)
            deadline = time.monotonic() + 900
            while True:
                row = await (
                    await conn.execute(
                        "SELECT planning_done, planned_recipients, planned_items "
                        "FROM dispatcher.executions WHERE execution_id = %s",
                        (execution_id,),
                    )
                ).fetchone()
                if row is not None and row[0]:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"planning did not finish:\n{platform.logs()}")
                await asyncio.sleep(0.1)
            planned = time.time() - executed
        peak = {s: peak_rss_mb(platform, s) for s in ("dispatcher", "campaign")}
    if row[1] != PLANNING_CONTACTS:
        raise RuntimeError(f"planned {row[1]} recipients of {PLANNING_CONTACTS}")
    return {
        "seeding": seeding,
        "seconds": planned,
        "items": row[2],
        "idle_dispatcher": idle["dispatcher"],
        "idle_campaign": idle["campaign"],
        "dispatcher": peak["dispatcher"],
        "campaign": peak["campaign"],
    }


# Figures ---------------------------------------------------------------------------------


def _pipeline_rows(runs: list[tuple[int, int, dict[str, Any]]]) -> tuple[list[Row], list[str]]:
    """One row per (accounts, replicas, timings); the first carries the targets."""
    rows, notes = [], []
    for accounts, replicas, timings in runs:
        rate = PIPELINE_CONTACTS / timings["last"]
        raw = PIPELINE_CONTACTS / (timings["raw_publish"] + timings["raw_consume"])
        ratio = rate / raw
        target = (accounts, replicas) == (1, 1)
        shape = f"{accounts} account{'s' if accounts > 1 else ''}" + (
            f", {replicas} dispatcher replicas" if replicas > 1 else ""
        )
        rows.append(
            Row(
                f"send {PIPELINE_CONTACTS:,} messages, simulator unthrottled, {shape}",
                f"{rate:,.0f} messages/s (execute → last outcome {timings['last']:.1f} s; "
                f"→ campaign completed {timings['completed']:.1f} s)",
                f"raw JetStream publish (pipelined) + pull consume/ack of "
                f"{PIPELINE_CONTACTS:,} messages of {timings['event_bytes']:.0f} B: "
                f"{raw:,.0f} messages/s",
                ratio,
                f"≥ {PIPELINE_TARGET:,.0f} messages/s and ≥ {PIPELINE_RATIO_TARGET} of raw"
                if target
                else "(locates the limit)",
                rate >= PIPELINE_TARGET and ratio >= PIPELINE_RATIO_TARGET if target else None,
            )
        )
        notes.append(
            f"Pipeline, {shape}: contacts COPYed in {timings['seeding']:.1f} s; after the "
            f"execute answer, first message accepted at {timings['first']:.2f} s, planning "
            f"done at {timings['planned']:.1f} s, last outcome committed at "
            f"{timings['last']:.1f} s, `campaign.completed` seen at {timings['completed']:.1f} s; "
            f"accepted per account: {timings['accounts']}. CPU used from execute to the last "
            f"outcome: {timings['cpu']}. Raw JetStream: publish {timings['raw_publish']:.2f} s, "
            f"consume {timings['raw_consume']:.2f} s. Peak RSS dispatcher "
            f"{timings['rss_dispatcher']:.0f} MB, simulator {timings['rss_sim']:.0f} MB."
        )
    return rows, notes


def _rate_rows(result: dict) -> tuple[list[Row], list[str]]:
    limit = RATE * RATE_WINDOW
    fidelity = result["in_window"] / limit
    audit = result["audit"]
    clean = not audit and result["violations"] == 0 and result["floods"] == 0
    after_answer = [p[0] for p in result["pauses"]]
    after_ask = [p[1] for p in result["pauses"]]
    worst = max(after_answer)
    rows = [
        Row(
            f"rate fidelity, one account at {RATE}/s, {RATE_WINDOW:.0f} s window",
            f"{result['in_window']:,} accepted in the window, {fidelity:.3f} of the limit; "
            f"busiest 1 s: {result['busiest']}; {len(audit)} windows over a limit, "
            f"{result['violations']} simulator violations, {result['floods']} FLOOD_WAITs",
            f"the limit: {RATE}/s for {RATE_WINDOW:.0f} s = {limit:,.0f} messages",
            fidelity,
            f"≥ {FIDELITY_TARGET} of the limit, no window over it",
            fidelity >= FIDELITY_TARGET and clean,
        ),
        Row(
            f"pause latency at {RATE}/s, {PAUSES} pauses",
            f"last accepted message after the pause's answer: median "
            f"{statistics.median(after_answer) * 1000:.0f} ms, max {worst * 1000:.0f} ms "
            f"(after the request: median {statistics.median(after_ask) * 1000:.0f} ms, max "
            f"{max(after_ask) * 1000:.0f} ms)",
            "-",
            None,
            f"< {PAUSE_TARGET:.0f} s",
            worst < PAUSE_TARGET,
        ),
    ]
    notes = [
        f"Rate fidelity: {RATE_CONTACTS:,} contacts, `TELEGRAM_BOT_RATE={RATE}`, the simulator "
        f"limiting at {RATE}/s with its default latency (5 ± 2 ms); accepted messages counted on "
        f"the simulator's `accepted_at` from {RATE_WARM_UP:.0f} s after the first to "
        f"{RATE_WARM_UP + RATE_WINDOW:.0f} s; `limit_violations` audited every sliding window "
        f"of all {result['accepted']:,} accepted messages (account {RATE}/s, private chat 1/s, "
        "group 20/min).",
        "Pause latency: during the same run, after the window, "
        f"{PAUSES} times: `POST …/pause`, 2 s, then the last `accepted_at` of the execution "
        "before the resume, against the pause's answer and its request's start (a negative "
        "figure: nothing was accepted after the answer); then `POST …/resume` and 2 s of "
        "sending again. Per pause (ms after the answer): "
        + ", ".join(f"{p * 1000:.0f}" for p in after_answer)
        + "; messages accepted in the second before each pause request: "
        + ", ".join(str(n) for n in result["before_pauses"])
        + f". The campaign was `{result['status']}` at the end.",
    ]
    return rows, notes


def _planning_rows(result: dict[str, float]) -> tuple[list[Row], list[str]]:
    rss = max(result["dispatcher"], result["campaign"])
    row = Row(
        f"plan {PLANNING_CONTACTS:,} recipients",
        f"{result['seconds']:.1f} s ({PLANNING_CONTACTS / result['seconds']:,.0f} recipients/s, "
        f"{result['items']:,.0f} items); peak RSS dispatcher {result['dispatcher']:.0f} MB, "
        f"campaign {result['campaign']:.0f} MB",
        "-",
        None,
        f"< {PLANNING_TARGET:.0f} s; RSS < {PLANNING_RSS_TARGET_MB:.0f} MB",
        result["seconds"] < PLANNING_TARGET and rss < PLANNING_RSS_TARGET_MB,
    )
    note = (
        f"Planning: {PLANNING_CONTACTS:,} contacts COPYed in {result['seeding']:.0f} s (with "
        "VACUUM ANALYZE); timed from the execute answer until `dispatcher.executions."
        "planning_done`, while the account sends at 30/s. Peak RSS (VmHWM) before the execute: "
        f"dispatcher {result['idle_dispatcher']:.0f} MB, campaign "
        f"{result['idle_campaign']:.0f} MB."
    )
    return [row], [note]


async def run(server_url: str, nats_url: str) -> tuple[list[Row], list[str]]:
    """Every sending scenario, each on its platform; their rows and notes."""
    pipelines = [
        (accounts, replicas, await _pipeline(server_url, nats_url, accounts, replicas))
        for accounts, replicas in PIPELINE_SHAPES
    ]
    rate = await _rate_and_pauses(server_url, nats_url)
    planning = await _planning(server_url, nats_url)
    rows, notes = _pipeline_rows(pipelines)
    for more_rows, more_notes in (_rate_rows(rate), _planning_rows(planning)):
        rows += more_rows
        notes += more_notes
    return rows, notes
