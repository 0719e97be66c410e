"""The delivery worker: sends due deliveries from the outbox and records every attempt.

Order: a lane (one subscription, one campaign) sends its deliveries one at a time in stream
order; the next one goes only once the previous one succeeded or was given up, and that
outcome is committed first, so no crash can reorder them. Lanes run concurrently, up to
``concurrency`` requests in all and ``per_subscription`` to one subscription. Due lane heads
are claimed in batches and queue here for a request slot; a request slot is free again as
soon as the receiver answered, while the outcome waits for its commit.

Outcomes are committed in batches (a success, or a failure with its next retry time); a
delivery is sent again only if its outcome was never committed: the dispatcher died
mid-request, or the receiver answered after the timeout. One worker runs at a time (a
PostgreSQL advisory lock elects it), so two replicas never send the same delivery at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.webhooks import health, lanes, metrics
from telecast_dispatcher.webhooks.retries import DisablePolicy, RetryPolicy
from telecast_dispatcher.webhooks.sender import Attempt, WebhookSender, open_session
from telecast_dispatcher.webhooks.targets import TargetPolicy, describe
from telecast_libs.log import correlation, get_logger
from telecast_libs.pg import try_advisory_lock
from telecast_libs.sealing import Sealer

log = get_logger(__name__)

_LOCK = "telecast.dispatcher.webhook_delivery"
_GAUGES_EVERY = 5.0
# Outcomes waiting for their commit, at most, per request slot.
_MAX_UNRECORDED = 4
_PURGE_EVERY = 3600.0

# Due lane heads (see lanes.py): an index scan, however long the backlog.
_CLAIM = """
SELECT d.id, d.subscription_id, d.event_id, d.event_type, d.kind, d.body, d.correlation_id,
       d.attempts, d.round_attempts, d.round_started_at, s.url, s.secret,
       CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret END, d.lane
FROM dispatcher.webhook_deliveries d
JOIN dispatcher.webhook_subscriptions s ON s.id = d.subscription_id
WHERE d.head AND d.status = 'pending'
  AND d.next_attempt_at <= now()
  AND (s.active OR d.kind = 'test')
  AND d.id <> ALL(%(busy)s::uuid[])
  AND d.subscription_id <> ALL(%(full)s::uuid[])
ORDER BY d.next_attempt_at
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Job:
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: str
    event_type: str
    kind: str
    body: bytes
    correlation_id: str | None
    attempts: int
    round_attempts: int
    round_started_at: datetime
    url: str
    keys: tuple[str, ...]
    lane: str


@dataclass(frozen=True)
class Outcome:
    job: Job
    attempt: Attempt


class DeliveryWorker:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        database_url: str,
        policy: TargetPolicy,
        retry: RetryPolicy,
        disable: DisablePolicy,
        *,
        timeout: float,
        concurrency: int,
        per_subscription: int,
        poll_interval: float,
        retention_days: int,
        sealer: Sealer,
        keep_response_excerpt: bool = True,
    ) -> None:
        self.keep_response_excerpt = keep_response_excerpt
        self.sealer = sealer
        self.pool = pool
        self.database_url = database_url
        self.policy = policy
        self.retry = retry
        self.disable = disable
        self.timeout = timeout
        self.concurrency = concurrency
        self.per_subscription = per_subscription
        self.poll_interval = poll_interval
        self.retention = timedelta(days=retention_days)
        self._wake = asyncio.Event()
        # Something may have become due (new deliveries, a lane moved on): claim next round.
        self._claim_soon = True
        self._stopping = False
        # Claimed and not yet recorded: never claimed again, and its lane waits.
        self._unrecorded: set[uuid.UUID] = set()
        # Requests waiting for a receiver's answer, in all and per subscription.
        self._sending = 0
        self._by_subscription: Counter[uuid.UUID] = Counter()
        # Claimed, waiting for a request slot: per subscription, in claim order.
        self._ready: dict[uuid.UUID, deque[Job]] = {}
        self._held = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._gauges_at = 0.0
        self._lock_conn: psycopg.AsyncConnection | None = None
        self._purged_at = 0.0

    def wake(self) -> None:
        """New or newly due work: look now rather than at the next poll."""
        self._claim_soon = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("webhook_delivery.restarting", error=repr(error))
            metrics.LEADER.labels("delivery").set(0)
            if not self._stopping:
                await asyncio.sleep(1.0)

    async def stop(self, grace: float) -> None:
        """Stop taking work; let requests in flight finish (up to ``grace``) and record
        their outcomes, so that a clean restart sends nothing twice."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)
        try:
            await asyncio.wait_for(self._outcomes.join(), timeout=5.0)
        except TimeoutError:
            log.warning("webhook_delivery.outcomes_unrecorded", count=self._outcomes.qsize())

    async def _lead(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True
        ) as lock_conn:
            while not await try_advisory_lock(lock_conn, _LOCK):
                if self._stopping:
                    return
                await asyncio.sleep(1.0)
            metrics.LEADER.labels("delivery").set(1)
            log.info("webhook_delivery.leading")
            self._lock_conn = lock_conn
            self._forget_claims()
            async with open_session(self.policy, self.concurrency) as session:
                sender = WebhookSender(
                    session, self.policy, self.timeout, self.keep_response_excerpt
                )
                recorder = asyncio.create_task(self._record_outcomes())
                try:
                    await self._dispatch(sender)
                    if self._tasks:
                        await asyncio.wait(self._tasks)
                    await self._outcomes.join()
                finally:
                    recorder.cancel()
                    for task in self._tasks:
                        task.cancel()

    async def _dispatch(self, sender: WebhookSender) -> None:
        # Whether more may be due than the last claim took (or it is time to look again).
        due = True
        while not self._stopping:
            self._wake.clear()
            wait = self.poll_interval
            self._start_ready(sender)
            # Claim in batches, ahead of need: claimed heads wait here for a request slot
            # (their lanes wait with them), so most slots are refilled without a query.
            room = _MAX_UNRECORDED * self.concurrency - len(self._unrecorded)
            if (due or self._claim_soon) and self._held < self.concurrency and room > 0:
                self._claim_soon = False
                limit = min(room, 2 * self.concurrency)
                next_due, due = await self._claim(limit)
                self._start_ready(sender)
                if next_due is not None:
                    wait = min(wait, max(0.005, next_due))
            await self._housekeeping()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except TimeoutError:
                due = True

    async def _claim(self, limit: int) -> tuple[float | None, bool]:
        """Take up to ``limit`` due lane heads that are not taken yet. Returns the seconds
        until the next retry falls due (when fewer than ``limit`` were due), and whether
        more may be due now."""
        async with self.pool.connection() as conn:
            # Subscriptions with a full queue here wait; the others are not held up by them.
            full = [s for s, queue in self._ready.items() if len(queue) >= self.per_subscription]
            cursor = await conn.execute(
                _CLAIM, {"busy": list(self._unrecorded), "full": full, "limit": limit}
            )
            rows = await cursor.fetchall()
            next_due = None
            if len(rows) < limit:
                row = await (
                    await conn.execute(
                        "SELECT extract(epoch FROM min(next_attempt_at) - now()) "
                        "FROM dispatcher.webhook_deliveries "
                        "WHERE head AND status = 'pending' AND next_attempt_at > now()"
                    )
                ).fetchone()
                next_due = float(row[0]) if row and row[0] is not None else None
        for row in rows:
            job = Job(
                delivery_id=row[0],
                subscription_id=row[1],
                event_id=row[2],
                event_type=row[3],
                kind=row[4],
                body=bytes(row[5]),
                correlation_id=row[6],
                attempts=row[7],
                round_attempts=row[8],
                round_started_at=row[9],
                url=row[10],
                keys=tuple(self.sealer.open(key) for key in (row[11], row[12]) if key),
                lane=row[13],
            )
            self._unrecorded.add(job.delivery_id)
            self._ready.setdefault(job.subscription_id, deque()).append(job)
            self._held += 1
        return next_due, len(rows) == limit

    def _start_ready(self, sender: WebhookSender) -> None:
        """Send claimed deliveries while request slots are free, subscriptions in turn."""
        while self._sending < self.concurrency and self._ready:
            started = False
            for subscription in list(self._ready):
                if self._sending >= self.concurrency:
                    break
                if self._by_subscription[subscription] >= self.per_subscription:
                    continue
                queue = self._ready[subscription]
                self._start(sender, queue.popleft())
                if not queue:
                    del self._ready[subscription]
                started = True
            if not started:
                return

    def _forget_claims(self) -> None:
        """A new leadership starts from PostgreSQL alone."""
        self._unrecorded = set()
        self._ready = {}
        self._held = self._sending = 0
        self._by_subscription = Counter()
        self._outcomes = asyncio.Queue()

    def _drop_ready(self, subscription: uuid.UUID) -> None:
        """Forget what was claimed for a subscription just disabled: it stays pending."""
        for job in self._ready.pop(subscription, ()):
            self._unrecorded.discard(job.delivery_id)
            self._held -= 1

    def _start(self, sender: WebhookSender, job: Job) -> None:
        self._held -= 1
        self._sending += 1
        self._by_subscription[job.subscription_id] += 1
        metrics.IN_FLIGHT.set(self._sending)
        task = asyncio.create_task(self._attempt(sender, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, sender: WebhookSender, job: Job) -> None:
        with correlation(job.correlation_id):
            attempt = await sender.send(
                job.url,
                job.body,
                job.keys,
                event_id=job.event_id,
                event_type=job.event_type,
                delivery_id=str(job.delivery_id),
            )
            metrics.ATTEMPT_SECONDS.observe(attempt.latency_ms / 1000)
            if not attempt.ok:
                log.info(
                    "webhook.attempt_failed",
                    webhook_id=str(job.subscription_id),
                    delivery_id=str(job.delivery_id),
                    event_id=job.event_id,
                    target=describe(job.url),
                    attempt=job.attempts + 1,
                    error=attempt.error,
                )
        self._sending -= 1
        self._by_subscription[job.subscription_id] -= 1
        metrics.IN_FLIGHT.set(self._sending)
        self._outcomes.put_nowait(Outcome(job, attempt))
        # A request slot is free: another lane may go while this outcome is recorded.
        self._wake.set()

    async def _record_outcomes(self) -> None:
        while True:
            batch = [await self._outcomes.get()]
            while not self._outcomes.empty() and len(batch) < 500:
                batch.append(self._outcomes.get_nowait())
            try:
                await self._record_with_retries(batch)
            finally:
                for outcome in batch:
                    self._unrecorded.discard(outcome.job.delivery_id)
                    self._outcomes.task_done()
                # Lanes moved on, retries were scheduled: worth a claim.
                self.wake()

    async def _record_with_retries(self, batch: list[Outcome]) -> None:
        for wait in (0.2, 0.5, 1.0, 2.0, 4.0):
            try:
                await self._record(batch)
                return
            except Exception as error:
                log.warning("webhook_delivery.record_failed", error=repr(error), size=len(batch))
                await asyncio.sleep(wait)
        # Record what can be; the rest stays pending and is sent again (at least once).
        for outcome in batch:
            try:
                await self._record([outcome])
            except Exception as error:
                log.error(
                    "webhook_delivery.outcome_lost",
                    delivery_id=str(outcome.job.delivery_id),
                    error=repr(error),
                )

    def _decide(self, outcome: Outcome, now: datetime) -> tuple[str, datetime | None]:
        """The delivery's status after this attempt, and when to try again if pending."""
        if outcome.attempt.ok:
            return "succeeded", None
        if outcome.job.kind == "test":
            return "failed", None  # a test event is tried once
        job = outcome.job
        next_at = self.retry.next_attempt(
            job.round_attempts + 1, job.round_started_at, now, outcome.attempt.retry_after
        )
        return ("pending", next_at) if next_at is not None else ("failed", None)

    async def _record(self, batch: list[Outcome]) -> None:
        now = datetime.now(UTC)
        decided = [(outcome, *self._decide(outcome, now)) for outcome in batch]
        async with self.pool.connection() as conn, conn.transaction():
            # A finished head hands its lane on to the next delivery: lock those lanes first.
            moving = [
                (outcome.job.subscription_id, outcome.job.lane)
                for outcome, status, _ in decided
                if status != "pending"
            ]
            # One round trip for the lot (pipeline): the server runs them in this order.
            async with conn.pipeline(), conn.cursor() as cursor:
                await lanes.lock(conn, moving)
                await cursor.executemany(
                    """
                    UPDATE dispatcher.webhook_deliveries
                    SET status = %s, head = %s, attempts = %s, round_attempts = %s,
                        next_attempt_at = %s, last_status_code = %s, last_error = %s,
                        last_latency_ms = %s, finished_at = %s
                    WHERE id = %s AND status = 'pending'
                    """,
                    [
                        (
                            status,
                            status == "pending",
                            o.job.attempts + 1,
                            o.job.round_attempts + 1,
                            next_at,
                            o.attempt.status_code,
                            o.attempt.error,
                            o.attempt.latency_ms,
                            None if status == "pending" else now,
                            o.job.delivery_id,
                        )
                        for o, status, next_at in decided
                    ],
                )
                # A subscription deleted meanwhile took its deliveries with it.
                await cursor.executemany(
                    """
                    INSERT INTO dispatcher.webhook_attempts
                        (delivery_id, attempt, started_at, latency_ms, status_code, error,
                         response_excerpt, next_attempt_at)
                    SELECT %s, %s, %s, %s, %s, %s, %s, %s
                    WHERE EXISTS (SELECT 1 FROM dispatcher.webhook_deliveries WHERE id = %s)
                    ON CONFLICT DO NOTHING
                    """,
                    [
                        (
                            o.job.delivery_id,
                            o.job.attempts + 1,
                            o.attempt.started_at,
                            o.attempt.latency_ms,
                            o.attempt.status_code,
                            o.attempt.error,
                            o.attempt.excerpt,
                            next_at,
                            o.job.delivery_id,
                        )
                        for o, _, next_at in decided
                    ],
                )
                await lanes.promote(conn, moving)
            disabled = await health.record(
                conn,
                self.disable,
                [(o.job.subscription_id, o.attempt) for o in batch if o.job.kind == "event"],
                now,
            )
        for subscription, reason in disabled:
            self._drop_ready(subscription)
            metrics.DISABLED_TOTAL.inc()
            log.warning("webhook.disabled", webhook_id=str(subscription), reason=reason)
        for outcome, status, _ in decided:
            metrics.ATTEMPTS.labels(
                "retrying" if status == "pending" else status, outcome.attempt.status_label
            ).inc()
            if status != "pending":
                metrics.DELIVERIES.labels(status).inc()
            if status == "failed" and outcome.job.kind == "event":
                log.warning(
                    "webhook.delivery_given_up",
                    webhook_id=str(outcome.job.subscription_id),
                    delivery_id=str(outcome.job.delivery_id),
                    event_id=outcome.job.event_id,
                    attempts=outcome.job.attempts + 1,
                )

    async def _housekeeping(self) -> None:
        """Refresh the queue gauges now and then; delete old finished deliveries hourly."""
        moment = time.monotonic()
        if moment - self._gauges_at >= _GAUGES_EVERY:
            self._gauges_at = moment
            # Still the leader? The lock lives as long as this connection: if it broke,
            # another replica may be sending now, so stop (run() takes the lock again).
            if self._lock_conn is not None:
                await self._lock_conn.execute("SELECT 1")
            async with self.pool.connection() as conn:
                row = await (
                    await conn.execute(
                        "SELECT (SELECT count(*) FROM dispatcher.webhook_deliveries"
                        "        WHERE status = 'pending'),"
                        " (SELECT count(*) FROM dispatcher.webhook_subscriptions"
                        "        WHERE NOT active)"
                    )
                ).fetchone()
            metrics.PENDING.set(row[0])
            metrics.DISABLED.set(row[1])
        if moment - self._purged_at >= _PURGE_EVERY:
            self._purged_at = moment
            async with self.pool.connection() as conn:
                cursor = await conn.execute(
                    "DELETE FROM dispatcher.webhook_deliveries "
                    "WHERE status <> 'pending' AND finished_at < now() - %s",
                    (self.retention,),
                )
            if cursor.rowcount:
                log.info("webhook_delivery.purged", deliveries=cursor.rowcount)
