"""Claimed deliveries, and the account drivers that send them as fast as the limits allow.

A ``Job`` is one recipient's claimed messages (its pending steps, in order). Runs put jobs
on the ``ReadyQueue``; every account this replica holds has an ``AccountDriver`` that takes
the highest-priority job whose chat it may send to now, sends, and hands the answer back
to the job's run. Waits that Telegram asks for (FloodWait, slow mode) and accounts it takes
out of use are handled here, because they concern the account, not the recipient.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from telecast_dispatcher.sending import metrics
from telecast_dispatcher.sending.limits import AccountLimits, LimitSettings
from telecast_dispatcher.sending.outcomes import TIMEOUT, Kind, Outcome
from telecast_dispatcher.sending.work import PRIORITIES
from telecast_dispatcher.telegram.port import (
    Accepted,
    Account,
    ChatKind,
    OutgoingMessage,
    SendError,
    Target,
    TelegramSender,
)
from telecast_libs.log import get_logger

log = get_logger(__name__)

# How far into a priority's queue a driver looks for a job whose chat is free.
_SCAN = 64


class Run(Protocol):
    """What a driver needs of the run a job belongs to (``runs.ItemRun``): its priority,
    whether it was halted, the message of a step, and where the answer goes."""

    priority: str
    halted: bool
    # An invitation campaign's settings: each recipient gets a link of their own.
    invitation: dict[str, Any] | None

    def give_back(self, job: Job) -> None: ...

    async def invite_link(self, sender: TelegramSender, account: str, job: Job) -> str: ...

    def render(self, job: Job, step: int) -> OutgoingMessage: ...

    def on_answer(
        self, job: Job, step: int, answer: Accepted | SendError, account: str
    ) -> None: ...


@dataclass(eq=False)
class Job:
    run: Run
    contact_id: str
    recipient: dict[str, Any]
    target: Target
    steps: list[int]
    attempts: int = 0
    # A send of steps[0] has started: from then on its claim cannot be given back.
    started: bool = False
    # An invitation campaign's link for this recipient, once made.
    invite_link: str | None = None
    # A private chat's next message waits until then, whichever account sends it: the
    # chat windows are per account, and another account may take the job's next step.
    chat_free_at: float = 0.0
    # The account that sent the recipient's first message sends the rest (one sender per
    # conversation), unless it is no longer driven here.
    account: str | None = None


class ReadyQueue:
    """Jobs waiting for an account: by priority, then in order; jobs waiting for a retry
    sit in a heap until their time."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Job]] = {p: deque() for p in PRIORITIES}
        self._later: list[tuple[float, int, Job]] = []
        self._order = itertools.count()
        self.changed = asyncio.Event()
        # The accounts with a driver on this replica (a job pinned to another one is free).
        self.accounts: set[str] = set()

    def __len__(self) -> int:
        return self.waiting() + len(self._later)

    def waiting(self) -> int:
        """Claimed deliveries ready to send, none started (a crash would leave them
        unconfirmed). Those waiting for a retry are not counted: they are few, and counting
        them would hold every claim back while Telegram has trouble."""
        return sum(len(q) for q in self._queues.values())

    def push(self, job: Job, *, front: bool = False) -> None:
        queue = self._queues[job.run.priority]
        if front:
            queue.appendleft(job)
        else:
            queue.append(job)
        self.changed.set()

    def push_later(self, job: Job, at: float) -> None:
        heapq.heappush(self._later, (at, next(self._order), job))
        self.changed.set()

    def take(
        self, limits: AccountLimits, now: float, account: str | None = None
    ) -> tuple[Job | None, float]:
        """The first job this account may send now, or None and when to look again."""
        while self._later and self._later[0][0] <= now:
            job = heapq.heappop(self._later)[2]
            self._queues[job.run.priority].append(job)
        soonest = self._later[0][0] if self._later else math.inf
        for priority in PRIORITIES:
            queue = self._queues[priority]
            for index in range(min(len(queue), _SCAN)):
                job = queue[index]
                if job.account not in (None, account) and job.account in self.accounts:
                    continue  # another account's conversation
                at = max(
                    job.chat_free_at, limits.chat_free_at(job.target.chat_id, job.target.kind, now)
                )
                if at <= now:
                    del queue[index]
                    return job, now
                soonest = min(soonest, at)
        return None, soonest

    def remove_run(self, run: Run) -> list[Job]:
        """Take every waiting job of ``run`` out (it was halted)."""
        removed: list[Job] = []
        for priority, queue in self._queues.items():
            kept = deque(job for job in queue if job.run is not run)
            removed += [job for job in queue if job.run is run]
            self._queues[priority] = kept
        later = [entry for entry in self._later if entry[2].run is not run]
        removed += [entry[2] for entry in self._later if entry[2].run is run]
        heapq.heapify(later)
        self._later = later
        return removed

    async def wait(self, timeout: float | None) -> None:
        self.changed.clear()
        try:
            await asyncio.wait_for(self.changed.wait(), timeout)
        except TimeoutError:
            pass


@dataclass
class AccountDriver:
    """Sends from one account while this replica holds its lease."""

    account: Account
    sender: TelegramSender
    queue: ReadyQueue
    limit_settings: LimitSettings
    lease_valid: Callable[[], bool]
    on_retired: Callable[[str, Outcome, str], None]
    max_in_flight: int = 256
    limits: AccountLimits = field(init=False)
    stopping: bool = False
    retired: bool = False
    _answered: asyncio.Event = field(default_factory=asyncio.Event)
    _sends: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        settings = LimitSettings(
            account_rate=self.account.rate,
            private_chat_rate=self.limit_settings.private_chat_rate,
            group_per_minute=self.limit_settings.group_per_minute,
        )
        self.limits = AccountLimits(settings, max_in_flight=self.max_in_flight)

    @property
    def active(self) -> bool:
        return not self.stopping and not self.retired

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        metrics.set_account_state(self.account.name, "sending")
        last_forget = loop.time()
        while self.active:
            now = loop.time()
            if not self.lease_valid():
                # The lease could not be renewed in time: another replica may hold the
                # account soon. Send nothing until it is renewed.
                await asyncio.sleep(0.1)
                continue
            if now - last_forget > 30:
                self.limits.forget_idle(now)
                last_forget = now
            at = self.limits.account_free_at(now)
            if at > now:
                waiting = self.limits.flood_until > now
                metrics.set_account_state(self.account.name, "waiting" if waiting else "sending")
                await self._rest(at - now)
                continue
            job, retry_at = self.queue.take(self.limits, now, self.account.name)
            if job is None:
                await self.queue.wait(None if math.isinf(retry_at) else max(0.0, retry_at - now))
                continue
            if job.run.halted:
                job.run.give_back(job)
                continue
            self._start(job, now)
        # Stopping: let the sends under way finish and be recorded.
        if self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)

    async def _rest(self, seconds: float) -> None:
        self._answered.clear()
        timeout = None if math.isinf(seconds) else seconds
        try:
            await asyncio.wait_for(self._answered.wait(), timeout)
        except TimeoutError:
            pass

    def _start(self, job: Job, now: float) -> None:
        job.started = True
        self.limits.start(job.target.chat_id, job.target.kind)
        task = asyncio.create_task(self._send(job, job.steps[0], now))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, job: Job, step: int, started: float) -> None:
        loop = asyncio.get_running_loop()
        answer: Accepted | SendError
        try:
            if job.run.invitation is not None and job.invite_link is None:
                # One link per recipient, made by the account that sends it.
                job.invite_link = await job.run.invite_link(self.sender, self.account.name, job)
            message = job.run.render(job, step)
            answer = await self.sender.send(self.account.name, job.target, message)
        except SendError as refused:
            answer = refused
        except Exception as error:  # an adapter bug: the outcome is unknown, never repeat
            log.error("send.adapter_error", account=self.account.name, error=repr(error))
            answer = SendError(TIMEOUT, detail=f"sender failed: {error!r}")
        now = loop.time()
        metrics.SEND_SECONDS.observe(now - started)
        self.limits.answered(job.target.chat_id, now)
        self._answered.set()
        if isinstance(answer, SendError):
            kind = answer.outcome.kind
            if kind is Kind.FLOOD:
                seconds = answer.seconds or 1.0
                self.limits.flood_wait(seconds, now)
                metrics.FLOOD_WAIT_SECONDS.labels(self.account.name).inc(seconds)
                metrics.SENDS.labels("wait", answer.outcome.code).inc()
                log.warning("account.flood_wait", account=self.account.name, seconds=seconds)
                job.started = False
                self.queue.push(job, front=True)
                return
            if kind is Kind.CHAT_WAIT:
                seconds = answer.seconds or 1.0
                self.limits.chat_wait(job.target.chat_id, seconds, now)
                metrics.SENDS.labels("wait", answer.outcome.code).inc()
                job.started = False
                self.queue.push(job)
                return
            if kind is Kind.ACCOUNT:
                metrics.SENDS.labels("account", answer.outcome.code).inc()
                self.retire(answer.outcome, answer.detail)
                job.started = False
                self.queue.push(job, front=True)
                return
        if isinstance(answer, Accepted):
            job.account = self.account.name
        if isinstance(answer, Accepted) and job.target.kind is ChatKind.PRIVATE:
            window = self.limit_settings.chat_window(ChatKind.PRIVATE)
            if window is not None:
                job.chat_free_at = now + window.seconds / window.limit
        job.run.on_answer(job, step, answer, self.account.name)

    def retire(self, outcome: Outcome, detail: str) -> None:
        """Telegram took the account out of use: stop sending from it, and say so."""
        if self.retired:
            return
        self.retired = True
        state = "limited" if outcome.code == "PEER_FLOOD" else "dead"
        metrics.set_account_state(self.account.name, state)
        log.error(
            "account.retired", account=self.account.name, code=outcome.code, reason=outcome.message
        )
        self.on_retired(self.account.name, outcome, detail)
        self._answered.set()
        self.queue.changed.set()
