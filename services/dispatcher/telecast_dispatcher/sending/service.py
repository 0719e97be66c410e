"""Sending, as one dispatcher replica runs it.

Every replica: account leases and a driver per account it holds, the halts, the recorder,
and three pull loops on the work queue (high, normal, low: a high-priority item is taken as
soon as it is queued, and its deliveries go before the others'). The replica that holds the
leader lock also follows the campaign events (intake), plans executions and sweeps.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.sending import intake, ledger, metrics
from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_dispatcher.sending.dispatch import AccountDriver, ReadyQueue
from telecast_dispatcher.sending.guards import GuardSettings, Trip
from telecast_dispatcher.sending.halts import Halts
from telecast_dispatcher.sending.leases import Leases
from telecast_dispatcher.sending.limits import LimitSettings
from telecast_dispatcher.sending.outcomes import Outcome
from telecast_dispatcher.sending.planner import Planner
from telecast_dispatcher.sending.recorder import Recorder
from telecast_dispatcher.sending.runs import (
    WORK_ACK_WAIT_SECONDS,
    ItemRun,
    RunContext,
    RunSettings,
)
from telecast_dispatcher.sending.sweeper import Sweeper
from telecast_dispatcher.sending.work import PRIORITIES, WorkItem
from telecast_dispatcher.telegram.port import SendError, TelegramSender
from telecast_dispatcher.tracking.links import LinkTracker
from telecast_libs import following
from telecast_libs import nats as tnats
from telecast_libs.contracts.base import decode
from telecast_libs.leader import lead_forever
from telecast_libs.log import correlation, get_logger
from telecast_libs.streams import campaign_events_stream, delivery_events_stream, work_stream
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

INTAKE_CONSUMER = "sending_intake"
_LEADER_LOCK = "telecast.dispatcher.sending_leader"
# A replica with items but no account to send them for this long gives the items back.
_NO_ACCOUNT_RELEASE_SECONDS = 5.0


@dataclass(frozen=True)
class SendingSettings:
    limits: LimitSettings
    guards: GuardSettings
    runs: RunSettings
    item_size: int = 500
    max_items: int = 4
    lease_ttl: float = 4.0
    intake_batch_size: int = 500


class Sending:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        nc: Client,
        database_url: str,
        subjects: Subjects,
        sender: TelegramSender,
        settings: SendingSettings,
        campaigns: CampaignClient,
        links: LinkTracker | None = None,
    ) -> None:
        self.pool = pool
        self.nc = nc
        self.js = nc.jetstream()
        self.database_url = database_url
        self.subjects = subjects
        self.sender = sender
        self.settings = settings
        self.replica_id = secrets.token_hex(4)
        self.campaigns = campaigns
        self.queue = ReadyQueue()
        self.halts = Halts(nc, pool, subjects)
        self.recorder = Recorder(
            pool, self.js, subjects, self.campaigns, settings.guards, self._trip
        )
        self.drivers: dict[str, AccountDriver] = {}
        self._driver_tasks: dict[str, asyncio.Task[None]] = {}
        self.leases = Leases(
            self.js,
            subjects.account_leases_bucket,
            [account.name for account in sender.accounts],
            self.replica_id,
            settings.lease_ttl,
            acquire=self._acquire,
            release=self._release,
            retired=self.retired_accounts,
        )
        self.runs: dict[tuple[str, int], ItemRun] = {}
        self._run_tasks: set[asyncio.Task[None]] = set()
        self._executions: dict[str, dict[str, Any]] = {}
        self.planner = Planner(pool, self.js, subjects, self.campaigns, settings.item_size)
        self.sweeper = Sweeper(
            pool, self.js, subjects, self.campaigns, [a.name for a in sender.accounts]
        )
        self.context = RunContext(
            pool=pool,
            campaigns=self.campaigns,
            recorder=self.recorder,
            queue=self.queue,
            settings=settings.runs,
            send_rate=self.send_rate,
            requeued=self.sweeper.wake.set,
            runs=lambda: self.runs.values(),
            links=links,
        )
        self._capacity = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[Any]] = []

    # Life ----------------------------------------------------------------------------------

    async def start(self) -> None:
        await tnats.ensure_stream(self.js, work_stream(self.subjects))
        await tnats.ensure_stream(self.js, delivery_events_stream(self.subjects))
        for priority in PRIORITIES:
            await self._ensure_work_consumer(priority)
        self._tasks = [
            asyncio.create_task(self.leases.run()),
            asyncio.create_task(self.halts.run()),
            asyncio.create_task(self.recorder.run()),
            asyncio.create_task(self._watch()),
            asyncio.create_task(
                lead_forever(
                    self.database_url,
                    _LEADER_LOCK,
                    lambda _lock: self._lead(),
                    name="sending_leader",
                    on_leading=lambda leading: metrics.LEADER.set(1 if leading else 0),
                )
            ),
            *(asyncio.create_task(self._fetch_forever(p)) for p in PRIORITIES),
        ]
        log.info(
            "sending.started",
            replica=self.replica_id,
            accounts=[account.name for account in self.sender.accounts],
        )

    async def stop(self) -> None:
        """Stop taking work, give the items under way back (their sends under way finish and
        are recorded), free the accounts."""
        self._stopping = True
        for run in list(self.runs.values()):
            run.halt("release")
        if self._run_tasks:
            await asyncio.wait(self._run_tasks, timeout=15)
        try:
            await self.recorder.flush_now()
        except Exception as error:
            log.warning("sending.final_flush_failed", error=repr(error))
        await self.leases.give_up_all()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sender.shutdown()

    def send_rate(self) -> float:
        rates = [d.account.rate for d in self.drivers.values() if d.active]
        if any(rate <= 0 for rate in rates):
            return math.inf
        return sum(rates)

    def active_drivers(self) -> int:
        return sum(1 for driver in self.drivers.values() if driver.active)

    # The leader ----------------------------------------------------------------------------

    async def _lead(self) -> None:
        follow_campaign_events = following.follow(
            self.js,
            self.pool,
            "dispatcher",
            campaign_events_stream(self.subjects),
            self.subjects.durable(INTAKE_CONSUMER),
            self.subjects.campaign_events,
            self.settings.intake_batch_size,
            self._apply_intake,
            on_batch=self._applied,
        )
        await asyncio.gather(follow_campaign_events, self.planner.run(), self.sweeper.run())

    async def _apply_intake(self, conn: psycopg.AsyncConnection, batch: list) -> None:
        await intake.apply(conn, batch)

    def _applied(self, stream_seq: int, pending: int) -> None:
        # After the commit: the planner may have an execution to plan, the sweeper items
        # that a resume queued again.
        self.planner.wake.set()
        self.sweeper.wake.set()

    # Work ----------------------------------------------------------------------------------

    def _durable(self, priority: str) -> str:
        return self.subjects.durable(f"work_{priority}")

    async def _ensure_work_consumer(self, priority: str) -> None:
        config = ConsumerConfig(
            durable_name=self._durable(priority),
            ack_policy=AckPolicy.EXPLICIT,
            # A dead replica's items come back this soon; a live one's runs say every
            # HEARTBEAT_SECONDS that they are still at work.
            ack_wait=WORK_ACK_WAIT_SECONDS,
            max_deliver=-1,
            max_ack_pending=256,
            filter_subject=self.subjects.work(priority),
        )
        try:
            info = await self.js.consumer_info(self.subjects.work_stream, config.durable_name)
        except NotFoundError:
            await self.js.add_consumer(self.subjects.work_stream, config)
            return
        if info.config.ack_wait != config.ack_wait:
            # A consumer made by an older version (AckWait 30 s): creating it again with the
            # same durable name updates it, and AckWait may be updated.
            await self.js.add_consumer(self.subjects.work_stream, config)

    def _room(self, priority: str) -> bool:
        # High-priority items get two places of their own: they are never kept waiting
        # behind long normal and low ones.
        limit = self.settings.max_items + (2 if priority == "high" else 0)
        return len(self.runs) < limit and self.active_drivers() > 0 and not self._stopping

    async def _fetch_forever(self, priority: str) -> None:
        while not self._stopping:
            try:
                subscription = await self.js.pull_subscribe_bind(
                    self._durable(priority), stream=self.subjects.work_stream
                )
                try:
                    await self._fetch(priority, subscription)
                finally:
                    await subscription.unsubscribe()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("work.fetch_restarting", priority=priority, error=repr(error))
                await asyncio.sleep(1.0)

    async def _fetch(self, priority: str, subscription: Any) -> None:
        while not self._stopping:
            if not self._room(priority):
                self._capacity.clear()
                try:
                    await asyncio.wait_for(self._capacity.wait(), 0.5)
                except TimeoutError:
                    pass
                continue
            try:
                messages = await subscription.fetch(1, timeout=2.0)
            except TimeoutError:
                continue
            for message in messages:
                await self._take(message)

    async def _take(self, message: Msg) -> None:
        item = decode(message.data, WorkItem)
        key = (item.execution_id, item.item_no)
        if key in self.runs:
            return  # a redelivery of an item this replica is sending: that run acks it
        execution = await self._execution(item.execution_id)
        current, guarded = await self._item_current(item)
        if execution is None or not current:
            await message.ack()  # a stale message: the item is done, dropped or re-queued
            return
        if guarded:
            # A guard stopped the execution and its pause is on its way: park the item.
            async with self.pool.connection() as conn:
                await ledger.settle_halted(conn, item)
            await message.ack()
            return
        run = ItemRun(item, message, execution, self.context)
        self.runs[key] = run
        metrics.ITEMS_RUNNING.set(len(self.runs))
        task = asyncio.create_task(self._drive(run, key))
        self._run_tasks.add(task)
        task.add_done_callback(self._run_tasks.discard)

    async def _drive(self, run: ItemRun, key: tuple[str, int]) -> None:
        unwatch = self.halts.watch(run.campaign_id, run.halt)
        try:
            with correlation(run.execution.get("correlation_id")):
                try:
                    await run.execute()
                except Exception as error:
                    log.error(
                        "item.failed",
                        execution_id=run.item.execution_id,
                        item=run.item.item_no,
                        error=repr(error),
                    )
                    try:
                        await run.abandon()
                    except Exception as again:
                        # NATS or PostgreSQL away: the claims stay the run's until a
                        # replica marks them unconfirmed, and JetStream redelivers the item.
                        log.error(
                            "item.abandon_failed",
                            execution_id=run.item.execution_id,
                            item=run.item.item_no,
                            error=repr(again),
                        )
        finally:
            unwatch()
            self.runs.pop(key, None)
            metrics.ITEMS_RUNNING.set(len(self.runs))
            self._capacity.set()

    async def _execution(self, execution_id: str) -> dict[str, Any] | None:
        known = self._executions.get(execution_id)
        if known is not None:
            return known
        async with self.pool.connection() as conn:
            row = await (
                await conn.cursor(row_factory=psycopg.rows.dict_row).execute(
                    "SELECT execution_id, campaign_id, messages, correlation_id, priority, "
                    "invitation FROM dispatcher.executions WHERE execution_id = %s",
                    (execution_id,),
                )
            ).fetchone()
        if row is not None:
            if len(self._executions) > 1000:
                self._executions.clear()
            self._executions[execution_id] = row
        return row

    async def _item_current(self, item: WorkItem) -> tuple[bool, bool]:
        """Whether the message is the item's current one, and whether a guard stopped its
        execution."""
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT w.state, w.generation, e.guard_code FROM dispatcher.work_items w "
                    "JOIN dispatcher.executions e USING (execution_id) "
                    "WHERE w.execution_id = %s AND w.item_no = %s",
                    (item.execution_id, item.item_no),
                )
            ).fetchone()
        if row is None:
            return False, False
        return row[0] == "queued" and row[1] == item.generation, row[2] is not None

    # Accounts ------------------------------------------------------------------------------

    async def _acquire(self, account_name: str) -> bool:
        account = next(a for a in self.sender.accounts if a.name == account_name)
        try:
            await self.sender.open(account_name)
        except SendError as error:
            log.error("account.open_failed", account=account_name, code=error.outcome.code)
            if error.outcome.kind.value == "account":
                await self._record_retired(account_name, error.outcome, error.detail)
            return False
        driver = AccountDriver(
            account=account,
            sender=self.sender,
            queue=self.queue,
            limit_settings=self.settings.limits,
            lease_valid=lambda: self.leases.valid(account_name),
            on_retired=self._retired,
        )
        self.drivers[account_name] = driver
        self.queue.accounts.add(account_name)
        self._driver_tasks[account_name] = asyncio.create_task(driver.run())
        self._capacity.set()
        return True

    async def _release(self, account_name: str) -> None:
        driver = self.drivers.pop(account_name, None)
        task = self._driver_tasks.pop(account_name, None)
        self.queue.accounts.discard(account_name)
        if driver is not None:
            driver.stopping = True
            self.queue.changed.set()
            driver._answered.set()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        await self.sender.close(account_name)

    def _retired(self, account_name: str, outcome: Outcome, detail: str) -> None:
        async def retire() -> None:
            try:
                await self._record_retired(account_name, outcome, detail)
                await self.leases.give_up(account_name)
            except Exception as error:
                # Logged here, never left as an unretrieved task exception.
                log.error("account.retire_failed", account=account_name, error=repr(error))
            self.sweeper.wake.set()

        task = asyncio.create_task(retire())
        self._run_tasks.add(task)
        task.add_done_callback(self._run_tasks.discard)

    async def _record_retired(self, account_name: str, outcome: Outcome, detail: str) -> None:
        state = "limited" if outcome.code == "PEER_FLOOD" else "dead"
        async with self.pool.connection() as conn:
            await conn.execute(
                """
                INSERT INTO dispatcher.account_states (account, state, code, detail, since)
                VALUES (%s, %s, %s, %s, now())
                ON CONFLICT (account) DO UPDATE
                SET state = EXCLUDED.state, code = EXCLUDED.code, detail = EXCLUDED.detail,
                    since = EXCLUDED.since
                """,
                (account_name, state, outcome.code, detail or outcome.message),
            )

    async def retired_accounts(self) -> set[str]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute("SELECT account FROM dispatcher.account_states")
            return {row[0] for row in await cursor.fetchall()}

    # Guards and watching -------------------------------------------------------------------

    async def _trip(self, execution_id: str, trip: Trip, execution: dict[str, Any]) -> None:
        metrics.GUARDS.labels(trip.code).inc()
        campaign_id = str(execution.get("campaign_id", ""))
        log.warning(
            "execution.guard", execution_id=execution_id, code=trip.code, reason=trip.reason
        )
        # Stop here at once; the campaign's paused event stops the other replicas.
        for run in list(self.runs.values()):
            if run.item.execution_id == execution_id:
                run.halt("paused")

        async def pause() -> None:
            try:
                await self.campaigns.pause(
                    campaign_id, trip.reason, trip.code, execution.get("correlation_id")
                )
            except Exception as error:
                log.error("execution.guard_pause_failed", error=repr(error))

        task = asyncio.create_task(pause())
        self._run_tasks.add(task)
        task.add_done_callback(self._run_tasks.discard)

    async def _watch(self) -> None:
        """Queue depth for the metrics; items given back when no account is left here."""
        without_account_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            for priority in PRIORITIES:
                try:
                    info = await self.js.consumer_info(
                        self.subjects.work_stream, self._durable(priority)
                    )
                    metrics.QUEUE_DEPTH.labels(priority).set(info.num_pending or 0)
                except Exception:
                    pass
            metrics.READY.set(len(self.queue))
            if self.runs and self.active_drivers() == 0:
                without_account_since = without_account_since or loop.time()
                if loop.time() - without_account_since > _NO_ACCOUNT_RELEASE_SECONDS:
                    log.warning("sending.no_account", items=len(self.runs))
                    for run in list(self.runs.values()):
                        run.halt("release")
            else:
                without_account_since = None
