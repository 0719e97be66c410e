"""Commands over NATS request/reply, decided in batches by the application.

Messages are queued as they arrive; one worker takes whatever has accumulated while the
previous batch was being saved and hands it to the application as one batch. Under load this
is a group commit; when idle, a command is saved alone without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import Counter, Histogram

from telecast_campaign.application import Campaigns, Outcome
from telecast_libs.command_signing import CommandVerifier
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
from telecast_libs.contracts.messages import Command, CommandReply, CommandResult, kinds
from telecast_libs.failures import failure_body, is_outage
from telecast_libs.log import correlation, correlation_from_headers, get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

COMMANDS = Counter("telecast_campaign_commands_total", "Commands handled", ["kind", "outcome"])
BATCH_SIZE = Histogram(
    "telecast_campaign_command_batch_size",
    "Commands saved per transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
LATENCY = Histogram("telecast_campaign_command_seconds", "Time from receipt to reply")


class CommandEndpoint:
    def __init__(
        self,
        app: Campaigns,
        nc: Client,
        subjects: Subjects,
        on_saved: Callable[[], None],
        batch_size: int,
        verifier: CommandVerifier,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.nc = nc
        self.subjects = subjects
        self.on_saved = on_saved
        self.batch_size = batch_size
        self._queue: asyncio.Queue[tuple[Command, Msg, float]] = asyncio.Queue()
        self._subscriptions: list[Subscription] = []

    async def start(self) -> None:
        for area in sorted({kind.split(".")[0] for kind in kinds(Command)}):
            self._subscriptions.append(
                await self.nc.subscribe(
                    self.subjects.commands(area), queue="campaign", cb=self._receive
                )
            )

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()

    async def _receive(self, msg: Msg) -> None:
        received = time.perf_counter()
        refused = self.verifier.refusal(msg.subject, msg.data, msg.headers)
        if refused is not None:
            COMMANDS.labels("unknown", refused.code).inc()
            await self._reply(msg, CommandReply(ok=False, error=refused))
            return
        try:
            command = decode(msg.data, Command)
        except msgspec.ValidationError as error:
            COMMANDS.labels("unknown", ErrorCode.VALIDATION_ERROR).inc()
            await self._reply(
                msg, CommandReply(ok=False, error=ErrorBody(ErrorCode.VALIDATION_ERROR, str(error)))
            )
            return
        self._queue.put_nowait((command, msg, received))

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            BATCH_SIZE.observe(len(batch))
            try:
                outcomes = await asyncio.to_thread(self.app.handle, [c for c, _, _ in batch])
            except Exception as error:
                outcomes = await self._failed(batch, error)
            if any(isinstance(o, CommandResult) for o in outcomes):
                self.on_saved()
            for (command, msg, received), outcome in zip(batch, outcomes, strict=True):
                cid = correlation_from_headers(msg.headers) or command.meta.correlation_id
                with correlation(cid):
                    kind = type(command).__name__
                    if isinstance(outcome, CommandResult):
                        reply = CommandReply(ok=True, result=outcome)
                        log.info(
                            "command.done",
                            kind=kind,
                            aggregate_id=outcome.aggregate_id,
                            version=outcome.version,
                        )
                        COMMANDS.labels(kind, "ok").inc()
                    else:
                        reply = CommandReply(ok=False, error=outcome.body())
                        log.info("command.refused", kind=kind, code=outcome.code)
                        COMMANDS.labels(kind, outcome.code).inc()
                    await self._reply(msg, reply)
                LATENCY.observe(time.perf_counter() - received)

    async def _failed(
        self, batch: list[tuple[Command, Msg, float]], error: Exception
    ) -> list[Outcome]:
        """The outcomes of a batch that failed, having saved nothing. An outage fails every
        command in it (SERVICE_UNAVAILABLE: retry). A bug is found by deciding each command
        alone, so that only the one that meets it fails (INTERNAL_ERROR, logged)."""
        if is_outage(error) or len(batch) == 1:
            command, msg, _ = batch[0]
            with correlation(correlation_from_headers(msg.headers) or command.meta.correlation_id):
                body = failure_body(
                    error,
                    "command",
                    "the command could not be stored; retry",
                    kind=type(command).__name__,
                    aggregate_id=_aggregate_id(command),
                    batch=len(batch),
                )
            return [Problem(body.message, code=body.code)] * len(batch)
        outcomes: list[Outcome] = []
        for entry in batch:
            try:
                outcomes += await asyncio.to_thread(self.app.handle, [entry[0]])
            except Exception as alone:
                outcomes += await self._failed([entry], alone)
        return outcomes

    async def _reply(self, msg: Msg, reply: CommandReply) -> None:
        if msg.reply:
            await self.nc.publish(msg.reply, encode(reply))


def _aggregate_id(command: Command) -> str | None:
    """The campaign, template or segment a command is about, for the logs."""
    for field in ("campaign_id", "template_id", "segment_id"):
        if (value := getattr(command, field, None)) is not None:
            return str(value)
    return None
