"""The gateway's side of NATS: commands to the campaign service, queries to the projection
(and the few the campaign service or the dispatcher answer)."""

from __future__ import annotations

from typing import TypeVar

from nats.aio.client import Client

from telecast_libs.command_signing import CommandSigner
from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.messages import AwaitPosition, CommandResult, Request
from telecast_libs.contracts.views import PositionReached
from telecast_libs.log import current_correlation_id, get_logger
from telecast_libs.requester import Requester, refusal
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

T = TypeVar("T")


class Bus:
    """Requests over NATS, each signed as the gateway's (telecast_libs.command_signing)."""

    def __init__(
        self,
        nc: Client,
        signer: CommandSigner,
        subjects: Subjects,
        timeout_ms: int,
        read_your_writes_timeout_ms: int,
    ) -> None:
        self.nc = nc
        # Shared with the dispatcher's buses (webhooks, tracking).
        self.requester = Requester(nc, signer, timeout_ms / 1000)
        self.subjects = subjects
        self.read_your_writes_timeout_ms = read_your_writes_timeout_ms

    async def command(self, command: Request) -> CommandResult:
        """Send a command; its result, or the service's refusal raised as a ``Problem``.

        Returns once the read model shows the command's effect (or the read-your-writes
        timeout passed), so that whoever sent it reads its own write next.
        """
        reply = await self.requester.command(
            self.subjects.command(command.__struct_config__.tag),
            command,
            service="campaign",
            correlation_id=current_correlation_id(),
        )
        if not reply.ok or reply.result is None:
            raise refusal(reply.error)
        await self._await_position(reply.result.position)
        return reply.result

    async def query(
        self,
        query: Request,
        answer: type[T],
        timeout: float | None = None,
        service: str = "projection",
    ) -> T:
        """A query to the projection (or to the ``service`` that answers its subject)."""
        return await self.requester.ask(
            self.subjects.query(query.__struct_config__.tag),
            query,
            answer,
            service=service,
            correlation_id=current_correlation_id(),
            timeout=timeout,
        )

    async def audience(
        self, request: Request, answer: type[T], *, write: bool, timeout: float | None = None
    ) -> T:
        """A request the campaign service answers from its audience tables (contacts,
        counts…): a write goes to its command subject, a read to its query subject."""
        kind = request.__struct_config__.tag
        return await self.requester.ask(
            self.subjects.command(kind) if write else self.subjects.query(kind),
            request,
            answer,
            service="campaign",
            correlation_id=current_correlation_id(),
            timeout=timeout,
        )

    async def _await_position(self, position: int) -> bool:
        """Wait until the read model shows the write at ``position`` (read-your-writes)."""
        timeout_ms = self.read_your_writes_timeout_ms
        if timeout_ms <= 0:
            return False
        try:
            reached = await self.query(
                AwaitPosition(position=position, timeout_ms=timeout_ms),
                PositionReached,
                timeout=timeout_ms / 1000 + 1,
            )
        except Problem:
            return False
        if not reached.reached:
            log.warning("bus.read_model_behind", position=position)
        return reached.reached
