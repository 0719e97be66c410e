"""Outcomes, committed to the ledger in batches, then published as events.

Sends answer one by one; the recorder commits their outcomes together (every few
milliseconds, or as soon as a run waits for them), each only if its row is still claimed by
the run that sent it. The same transaction adds to the execution's counters; then the
guards look at those counters (error rate, budget), and the committed outcomes go to the
publisher.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.sending import guards, metrics
from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_dispatcher.sending.events import DELIVERY_COLUMNS, publish_deliveries
from telecast_libs.log import get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

_FLUSH_SECONDS = 0.05
_FLUSH_SIZE = 2000
_PUBLISH_RETRY_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """A delivery's outcome as its ledger row records it."""

    execution_id: str
    contact_id: str
    step: int
    # sent, failed, unconfirmed; or pending: a claim given back unsent.
    state: str
    code: str | None
    detail: str | None
    account: str | None
    telegram_message_id: int | None
    attempts: int
    # The claim the row must still carry (None: the row must still be pending).
    claim: Any


class Recorder:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        js: JetStreamContext,
        subjects: Subjects,
        campaigns: CampaignClient,
        guard_settings: guards.GuardSettings,
        on_trip: Callable[[str, guards.Trip, dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.pool = pool
        self.js = js
        self.subjects = subjects
        self.campaigns = campaigns
        self.guard_settings = guard_settings
        self.on_trip = on_trip
        self._pending: list[OutcomeRow] = []
        self._executions: dict[str, dict[str, Any]] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._published: asyncio.Queue[tuple[list[Any], dict[str, str | None]]] = asyncio.Queue()

    def record(self, outcome: OutcomeRow, execution: dict[str, Any]) -> None:
        self._pending.append(outcome)
        self._executions[outcome.execution_id] = execution
        if len(self._pending) >= _FLUSH_SIZE:
            self._wake.set()

    async def committed_elsewhere(self, rows: list[Any], execution: dict[str, Any]) -> None:
        """Outcomes another transaction committed (unconfirmed sends of a dead replica)."""
        await self._published.put((rows, {str(rows[0][0]): execution.get("correlation_id")}))

    async def run(self) -> None:
        publisher = asyncio.create_task(self._publish_forever())
        try:
            while True:
                try:
                    await asyncio.wait_for(self._wake.wait(), _FLUSH_SECONDS)
                except TimeoutError:
                    pass
                self._wake.clear()
                try:
                    await self.flush_now()
                except Exception as error:
                    # The outcomes stay pending and are tried again: nothing is lost, and
                    # a row claimed by this run cannot be sent by anyone else meanwhile.
                    log.error("recorder.flush_failed", error=repr(error))
                    await asyncio.sleep(1.0)
        finally:
            publisher.cancel()

    async def flush_now(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            try:
                await self._commit(batch)
            except BaseException:
                self._pending = batch + self._pending
                raise

    async def _commit(self, batch: list[OutcomeRow]) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                f"""
                WITH o AS (
                    SELECT * FROM unnest(
                        %s::uuid[], %s::uuid[], %s::smallint[], %s::text[], %s::text[],
                        %s::text[], %s::text[], %s::bigint[], %s::smallint[], %s::uuid[]
                    ) AS o(execution_id, contact_id, step, state, code, detail, account,
                           telegram_message_id, attempts, claim)
                )
                UPDATE dispatcher.deliveries d
                SET state = o.state, code = o.code, detail = o.detail,
                    account = coalesce(o.account, d.account),
                    telegram_message_id = o.telegram_message_id,
                    attempts = d.attempts + o.attempts,
                    cost = CASE WHEN o.state = 'sent' THEN %s::double precision ELSE 0 END,
                    finished_at = CASE WHEN o.state = 'pending' THEN NULL ELSE now() END,
                    claim = NULL
                FROM o
                WHERE d.execution_id = o.execution_id AND d.contact_id = o.contact_id
                  AND d.step = o.step
                  AND ((o.claim IS NULL AND d.state = 'pending')
                       OR (d.state = 'sending' AND d.claim = o.claim))
                RETURNING {DELIVERY_COLUMNS}
                """,
                (
                    [o.execution_id for o in batch],
                    [o.contact_id for o in batch],
                    [o.step for o in batch],
                    [o.state for o in batch],
                    [o.code for o in batch],
                    [o.detail for o in batch],
                    [o.account for o in batch],
                    [o.telegram_message_id for o in batch],
                    [o.attempts for o in batch],
                    [o.claim for o in batch],
                    self.guard_settings.cost_per_message,
                ),
            )
            rows = [row for row in await cursor.fetchall() if row[8] != "pending"]
            if len(rows) + sum(o.state == "pending" for o in batch) < len(batch):
                # A row that was no longer ours: another run marked it unconfirmed. Its
                # outcome stays unconfirmed (never sent twice; reported, not guessed).
                log.warning("recorder.claims_lost", outcomes=len(batch))
            # sent, failed, failed as the error-rate guard counts them: an unconfirmed
            # outcome (a timeout) says nothing about the recipients.
            counts: dict[str, list[int]] = {}
            for row in rows:
                tally = counts.setdefault(str(row[0]), [0, 0, 0])
                if row[8] == "sent":
                    tally[0] += 1
                else:
                    tally[1] += 1
                    tally[2] += 1 if row[8] == "failed" else 0
            totals = []
            if counts:
                ids = list(counts)
                cursor = await conn.execute(
                    """
                    UPDATE dispatcher.executions e
                    SET sent = e.sent + c.sent, failed = e.failed + c.failed,
                        guard_sent = e.guard_sent + c.sent,
                        guard_failed = e.guard_failed + c.refused
                    FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bigint[])
                        AS c(id, sent, failed, refused)
                    WHERE e.execution_id = c.id
                    RETURNING e.execution_id, e.sent, e.guard_sent, e.guard_failed, e.budget,
                              e.guard_code, e.campaign_state
                    """,
                    (
                        ids,
                        [counts[i][0] for i in ids],
                        [counts[i][1] for i in ids],
                        [counts[i][2] for i in ids],
                    ),
                )
                totals = await cursor.fetchall()
            trips = []
            for execution_id, sent, guard_sent, guard_failed, budget, code, state in totals:
                if code is not None or state != "active":
                    continue
                trip = guards.check(
                    self.guard_settings,
                    sent=sent,
                    guard_sent=guard_sent,
                    guard_failed=guard_failed,
                    budget=budget,
                )
                if trip is not None:
                    await conn.execute(
                        "UPDATE dispatcher.executions SET guard_code = %s, guard_reason = %s, "
                        "updated_at = now() "
                        "WHERE execution_id = %s",
                        (trip.code, trip.reason, execution_id),
                    )
                    trips.append((str(execution_id), trip))
        for execution_id, trip in trips:
            await self.on_trip(execution_id, trip, self._executions.get(execution_id, {}))
        if rows:
            correlation = {
                str(row[0]): self._executions.get(str(row[0]), {}).get("correlation_id")
                for row in rows
            }
            await self._published.put((rows, correlation))

    async def _publish_forever(self) -> None:
        rows: list[Any] = []
        correlation: dict[str, str | None] = {}
        while True:
            if not rows:
                rows, correlation = await self._published.get()
            # Gather what is waiting: one pipelined publish for many flushes.
            while not self._published.empty() and len(rows) < 5000:
                more, more_correlation = self._published.get_nowait()
                rows = rows + more
                correlation.update(more_correlation)
            try:
                await publish_deliveries(
                    self.pool, self.js, self.subjects, self.campaigns, rows, correlation
                )
                rows, correlation = [], {}
            except Exception as error:
                # Committed and unpublished (the ledger keeps them, and the sweeper would
                # publish them too): try again shortly, with what has come in meanwhile,
                # rather than leave the statistics behind until the sweeper's next round.
                metrics.PUBLISH_FAILURES.labels(events="deliveries").inc()
                log.warning("deliveries.publish_failed", rows=len(rows), error=repr(error))
                await asyncio.sleep(_PUBLISH_RETRY_SECONDS)
