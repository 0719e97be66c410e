"""One work item being sent by this replica: from its audience page to its last outcome.

``ItemRun.execute``:
1. reads the item's contacts from the campaign service (the range ``(after, upto]``);
2. writes their ledger rows (``pending``; rows that exist are kept) and marks rows a crashed
   replica left ``sending`` as ``unconfirmed`` -- those sends may have happened, so they are
   never repeated;
3. claims pending rows (``pending`` -> ``sending``, committed before any of them is sent)
   and puts them on the ready queue, within one budget for the whole replica (about
   ``claim_seconds`` of sending waiting there), higher priorities first;
4. records each answer through the recorder, and acknowledges the work message only when
   every outcome of the item is committed.
A halt (pause, cancel, completion, or this replica shutting down) stops claiming, waits for
the sends under way, gives unsent claims back (``pending``) and parks, drops or releases
the item.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.msg import Msg
from psycopg_pool import AsyncConnectionPool

from telecast_dispatcher.sending import ledger, metrics
from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_dispatcher.sending.dispatch import Job, ReadyQueue
from telecast_dispatcher.sending.finish import finish_if_done
from telecast_dispatcher.sending.outcomes import RENDER_FAILED, Kind, Outcome
from telecast_dispatcher.sending.recorder import OutcomeRow, Recorder
from telecast_dispatcher.sending.work import PRIORITIES, WorkItem
from telecast_dispatcher.telegram.port import (
    Accepted,
    ChatKind,
    OutgoingMessage,
    SendError,
    Target,
    TelegramSender,
)
from telecast_dispatcher.tracking.links import LinkTracker, rewrite
from telecast_libs.content.messages import personalize
from telecast_libs.content.rendering import TemplateError
from telecast_libs.contracts.base import to_builtins
from telecast_libs.log import get_logger

log = get_logger(__name__)

SEQUENCE_STOPPED = Outcome(
    "SEQUENCE_STOPPED", "An earlier message to this recipient did not go through", Kind.PERMANENT
)
# A work message not acknowledged for this long is delivered again (its replica died), and
# a run tells JetStream that it is still working on its item three times as often.
WORK_ACK_WAIT_SECONDS = 6.0
_HEARTBEAT_SECONDS = WORK_ACK_WAIT_SECONDS / 3
# How often a run waiting for room in the replica's claim budget looks again.
_ROOM_POLL_SECONDS = 0.02
# How long a halted run waits for the intake to record the halt (tries, wait each).
_SETTLE_TRIES = 30
_SETTLE_WAIT_SECONDS = 0.1


@dataclass
class RunSettings:
    max_attempts: int = 5
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 60.0
    # Claims are sized to what the replica's accounts send in this many seconds: a crash
    # leaves at most that many deliveries unconfirmed.
    claim_seconds: float = 0.25
    claim_max: int = 500


@dataclass
class RunContext:
    pool: AsyncConnectionPool
    campaigns: CampaignClient
    recorder: Recorder
    queue: ReadyQueue
    settings: RunSettings
    # Messages per second the replica's accounts can send now (inf: no limit).
    send_rate: Callable[[], float]
    # An item went back to the queue (the sweeper publishes it).
    requeued: Callable[[], None]
    # Rewrites links into tracked ones (TRACKING_BASE_URL set), else None.
    links: LinkTracker | None = None
    # Claims are taken one run at a time, against a budget for the whole replica.
    claiming: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The runs of this replica (a run leaves the budget to higher-priority ones).
    runs: Callable[[], Iterable[ItemRun]] = lambda: ()


class ItemRun:
    def __init__(self, item: WorkItem, message: Msg, execution: dict[str, Any], ctx: RunContext):
        self.item = item
        self.message = message
        self.execution = execution
        self.ctx = ctx
        self.priority = item.priority
        self.claim = uuid.uuid4()
        self.halted = False
        # What the halt means for the item: parked (pause), dropped (cancel/complete),
        # released (this replica stops: the item goes back to the queue).
        self.halt_reason = ""
        self._unclaimed: list[Job] = []
        self._outstanding = 0  # claimed jobs not yet finished
        self._changed = asyncio.Event()
        # The work message was acked (the item is settled): it must not be nak'ed after.
        self._acknowledged = False
        self._messages: list[dict[str, Any]] = execution["messages"]
        self.campaign_id = item.campaign_id
        # For an invitation campaign: {"chatId", "expireHours", "memberLimit", "joinRequest"}.
        self.invitation: dict[str, Any] | None = execution.get("invitation")

    # Life ----------------------------------------------------------------------------------

    async def execute(self) -> None:
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._execute()
        finally:
            heartbeat.cancel()

    async def _execute(self) -> None:
        item = self.item
        page = await self.ctx.campaigns.audience_page(
            item.campaign_id, item.execution_id, item.after, item.recipients
        )
        contacts = [c for c in page.contacts if c.id <= item.upto]
        steps = len(self._messages)
        rows = []
        for contact in contacts:
            for step, message in enumerate(self._messages):
                variation = _variation(item.campaign_id, contact.id, message)
                rows.append((contact, step, message["id"], variation))
        async with self.ctx.pool.connection() as conn, conn.transaction():
            await ledger.insert_pending(conn, item, rows)
            lost = await ledger.unconfirm_lost(conn, item)
            states = await ledger.item_states(conn, item)
        if lost:
            log.warning("deliveries.unconfirmed", execution_id=item.execution_id, count=len(lost))
            await self.ctx.recorder.committed_elsewhere(lost, self.execution)
        for contact in contacts:
            pending = [s for s in range(steps) if states.get((contact.id, s)) == "pending"]
            if not pending:
                continue
            earlier = [states.get((contact.id, s)) for s in range(pending[0])]
            if any(state != "sent" for state in earlier):
                # The sequence broke before (a crash left a step unconfirmed, or it failed).
                self._finish_unsent(contact.id, pending, SEQUENCE_STOPPED)
                continue
            self._unclaimed.append(
                Job(
                    run=self,
                    contact_id=contact.id,
                    recipient=to_builtins(contact),
                    target=Target(contact.telegram_id, _chat_kind(contact.chat_type)),
                    steps=pending,
                )
            )
        self._unclaimed.reverse()  # claimed from the end: keep audience order
        await self._send_all()
        await self.ctx.recorder.flush_now()
        await self._close()

    async def _send_all(self) -> None:
        while not self.halted:
            if not self._unclaimed and self._outstanding == 0:
                return
            if self._unclaimed and await self._claim_within_budget():
                continue
            # Wait for one of ours to finish, or for the replica's queue to drain (another
            # run's deliveries being taken makes room for ours).
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), _ROOM_POLL_SECONDS)
            except TimeoutError:
                pass
        await self._wind_down()

    async def _claim_within_budget(self) -> bool:
        """Claim as much as the replica's budget has room for: the deliveries waiting on
        the ready queue (claimed, no send started) stay under one chunk, about
        ``claim_seconds`` of sending, for all runs together. Those are what a crash would
        leave unconfirmed. True if something was claimed."""
        async with self.ctx.claiming:
            room = self._chunk() - self.ctx.queue.waiting()
            if room <= 0 or self.halted or self._outranked():
                return False
            await self._claim(room)
            return True

    async def _wind_down(self) -> None:
        """Halted: nothing new starts; wait for the sends under way, give the rest back."""
        for job in self.ctx.queue.remove_run(self):
            self.give_back(job)
        while self._outstanding > 0:
            self._changed.clear()
            await self._changed.wait()

    async def abandon(self) -> None:
        """The run failed (the campaign service did not answer, PostgreSQL is away…): what
        it claimed and did not send goes back, and the item is offered again later."""
        self.halt("release")
        await self._wind_down()
        try:
            await self.ctx.recorder.flush_now()
        finally:
            if not self._acknowledged:
                await self.message.nak(delay=5)

    def _outranked(self) -> bool:
        """A run of higher priority has deliveries to claim: it gets the room first."""
        rank = PRIORITIES.index(self.priority)
        return any(
            PRIORITIES.index(run.priority) < rank and run._unclaimed and not run.halted
            for run in self.ctx.runs()
        )

    def _chunk(self) -> int:
        rate = self.ctx.send_rate()
        if math.isinf(rate):
            return self.ctx.settings.claim_max
        wanted = math.ceil(rate * self.ctx.settings.claim_seconds)
        return max(1, min(self.ctx.settings.claim_max, wanted))

    async def _claim(self, size: int) -> None:
        jobs = [self._unclaimed.pop() for _ in range(min(size, len(self._unclaimed)))]
        async with self.ctx.pool.connection() as conn:
            claimed = await ledger.claim(conn, self.item, self.claim, [j.contact_id for j in jobs])
        for job in jobs:
            steps = [s for s in job.steps if (job.contact_id, s) in claimed]
            if not steps:
                continue  # another run holds it (a duplicate of this item)
            job.steps = steps
            self._outstanding += 1
            self.ctx.queue.push(job)
        metrics.READY.set(len(self.ctx.queue))

    async def _close(self) -> None:
        item = self.item
        if self.halted:
            if self.halt_reason == "release":
                # This replica is stopping: the item goes back to the queue at once.
                await self.message.nak()
                log.info("item.released", execution_id=item.execution_id, item=item.item_no)
                return
            settled = await self._settle()
            await self._ack()
            log.info(
                "item.halted", execution_id=item.execution_id, item=item.item_no, state=settled
            )
            if settled == "requeued":
                self.ctx.requeued()
            return
        async with self.ctx.pool.connection() as conn:
            await ledger.set_item_state(conn, item, "done")
        await self._ack()
        try:
            await finish_if_done(self.ctx.pool, self.ctx.campaigns, item.execution_id)
        except Exception as error:
            # The item is done; the leader's sweeper finishes the execution and tells the
            # campaign service when it answers again.
            log.warning(
                "execution.finish_deferred", execution_id=item.execution_id, error=repr(error)
            )

    async def _ack(self) -> None:
        self._acknowledged = True
        await self.message.ack()

    async def _settle(self) -> str:
        """Park, drop or queue the halted item again. The halt came from the campaign's
        event on NATS, usually before the leader's intake applied it to PostgreSQL: wait a
        little for that, rather than queue the item again only to park it next time."""
        for _ in range(_SETTLE_TRIES):
            async with self.ctx.pool.connection() as conn:
                settled = await ledger.settle_halted(conn, self.item, requeue=False)
            if settled != "active":
                return settled
            await asyncio.sleep(_SETTLE_WAIT_SECONDS)
        # Still active: the halt was undone (resumed) before it took effect here.
        async with self.ctx.pool.connection() as conn:
            return await ledger.settle_halted(conn, self.item)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(_HEARTBEAT_SECONDS)
            try:
                await self.message.in_progress()
            except Exception as error:
                log.warning("item.heartbeat_failed", error=repr(error))

    # Halting -------------------------------------------------------------------------------

    def halt(self, reason: str) -> None:
        if self.halted:
            return
        self.halted = True
        self.halt_reason = reason
        self._changed.set()

    def give_back(self, job: Job) -> None:
        """A claimed job that will not be sent now (none of its sends started): its rows go
        back to pending when the recorder next commits."""
        assert not job.started
        for step in job.steps:
            self._record(job.contact_id, step, "pending", None, None, None, None)
        self._job_done()

    # Answers -------------------------------------------------------------------------------

    async def invite_link(self, sender: TelegramSender, account: str, job: Job) -> str:
        invitation = self.invitation or {}
        hours = invitation.get("expireHours")
        join_request = bool(invitation.get("joinRequest", False))
        return await sender.create_invite_link(
            account,
            int(invitation["chatId"]),
            # Telegram shows admins the link's name: it says which campaign invited whom.
            name=f"telecast {self.item.execution_id[:8]} {job.contact_id[:8]}",
            expire_date=datetime.now(UTC) + timedelta(hours=hours) if hours else None,
            # Telegram puts no member limit on a link that asks the admins to approve.
            member_limit=None if join_request else invitation.get("memberLimit", 1),
            creates_join_request=join_request,
        )

    def render(self, job: Job, step: int) -> OutgoingMessage:
        recipient = job.recipient
        if job.invite_link is not None:
            recipient = {**recipient, "inviteLink": job.invite_link}
        try:
            rendered = personalize(
                self._messages[step], self.campaign_id, job.contact_id, recipient
            )
            text, buttons = rendered["text"], rendered["buttons"]
            if self.ctx.links is not None:
                track = self.ctx.links.for_delivery(
                    self.item.execution_id, job.contact_id, rendered["messageId"]
                )
                text, buttons = rewrite(text, rendered["parseMode"], buttons, track)
        except (TemplateError, KeyError, ValueError) as error:
            raise SendError(RENDER_FAILED, detail=str(error)) from None
        return OutgoingMessage(
            text=text,
            parse_mode=rendered["parseMode"],
            buttons=buttons,
            media=rendered["media"],
            reference=f"{self.item.execution_id}:{job.contact_id}:{rendered['messageId']}",
            correlation_id=self.execution.get("correlation_id"),
        )

    def on_answer(self, job: Job, step: int, answer: Accepted | SendError, account: str) -> None:
        job.attempts += 1
        if isinstance(answer, Accepted):
            metrics.SENDS.labels("sent", "").inc()
            self._record(job.contact_id, step, "sent", None, None, account, answer.message_id, job)
            job.steps.pop(0)
            job.attempts = 0
            job.started = False
            if job.steps:
                self.ctx.queue.push(job)  # the chat's window spaces the next message
            else:
                self._job_done()
            return
        outcome = answer.outcome
        if outcome.kind is Kind.RETRY and job.attempts < self.ctx.settings.max_attempts:
            metrics.SENDS.labels("retry", outcome.code).inc()
            job.started = False
            delay = min(
                self.ctx.settings.retry_max_seconds,
                self.ctx.settings.retry_base_seconds * 2 ** (job.attempts - 1),
            )
            self.ctx.queue.push_later(job, asyncio.get_running_loop().time() + delay)
            return
        state = "unconfirmed" if outcome.kind is Kind.UNKNOWN else "failed"
        detail = outcome.message
        if outcome.kind is Kind.RETRY:
            detail = f"{outcome.message} (gave up after {job.attempts} attempts)"
        if state == "unconfirmed":
            code = "DELIVERY_UNCONFIRMED"
        else:
            code = outcome.code
        metrics.SENDS.labels(state, code).inc()
        self._record(job.contact_id, step, state, code, detail, account, None, job)
        rest = job.steps[1:]
        job.steps = []
        self._finish_unsent(job.contact_id, rest, SEQUENCE_STOPPED, claimed=True)
        self._job_done()

    def _finish_unsent(
        self, contact_id: str, steps: list[int], outcome: Outcome, claimed: bool = False
    ) -> None:
        for step in steps:
            self._record(
                contact_id,
                step,
                "failed",
                outcome.code,
                outcome.message,
                None,
                None,
                claim=self.claim if claimed else None,
            )

    def _record(
        self,
        contact_id: str,
        step: int,
        state: str,
        code: str | None,
        detail: str | None,
        account: str | None,
        telegram_message_id: int | None,
        job: Job | None = None,
        claim: uuid.UUID | str | None = "own",
    ) -> None:
        self.ctx.recorder.record(
            OutcomeRow(
                execution_id=self.item.execution_id,
                contact_id=contact_id,
                step=step,
                state=state,
                code=code,
                detail=detail,
                account=account,
                telegram_message_id=telegram_message_id,
                attempts=job.attempts if job is not None else 0,
                claim=self.claim if claim == "own" else claim,
            ),
            self.execution,
        )

    def _job_done(self) -> None:
        self._outstanding -= 1
        self._changed.set()


def _variation(campaign_id: str, contact_id: str, message: dict[str, Any]) -> str | None:
    from telecast_libs.content.variations import choose

    return choose(campaign_id, contact_id, message)


def _chat_kind(chat_type: str) -> ChatKind:
    try:
        return ChatKind(chat_type)
    except ValueError:
        # Supergroups count as groups for the limits.
        return ChatKind.GROUP if "group" in chat_type else ChatKind.PRIVATE
