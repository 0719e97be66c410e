"""The gateway's side of NATS: commands to the campaign service, queries to the projection
(and the few the campaign service or the dispatcher answer)."""

from __future__ import annotations

from typing import TypeVar

import msgspec
import nats.errors
from nats.aio.client import Client

from telecast_libs.command_signing import CommandSigner
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import (
    AwaitPosition,
    CommandReply,
    CommandResult,
    Request,
)
from telecast_libs.contracts.replies import Reply
from telecast_libs.contracts.views import PositionReached
from telecast_libs.log import CORRELATION_HEADER, current_correlation_id, get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

T = TypeVar("T")


class Unavailable(Problem):
    """The service is not there or too slow: a client may retry (503)."""

    code = ErrorCode.SERVICE_UNAVAILABLE


class Broken(Problem):
    """The service answered, but not as the contract says: a bug, which a retry does not
    fix (500)."""

    code = ErrorCode.INTERNAL_ERROR


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
        self.signer = signer
        self.subjects = subjects
        self.timeout = timeout_ms / 1000
        self.read_your_writes_timeout_ms = read_your_writes_timeout_ms

    async def command(self, command: Request) -> CommandResult:
        """Send a command; its result, or the service's refusal raised as a ``Problem``.

        Returns once the read model shows the command's effect (or the read-your-writes
        timeout passed), so that whoever sent it reads its own write next.
        """
        subject = self.subjects.command(command.__struct_config__.tag)
        raw = await self._request(subject, encode(command), "campaign", self.timeout)
        reply = decode(raw, CommandReply)
        if not reply.ok or reply.result is None:
            raise _problem(reply.error)
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
        subject = self.subjects.query(query.__struct_config__.tag)
        raw = await self._request(subject, encode(query), service, timeout or self.timeout)
        try:
            reply = decode(raw, Reply[answer])  # type: ignore[valid-type]
        except msgspec.ValidationError as error:
            log.error("bus.bad_reply", subject=subject, error=str(error))
            raise Broken("the read model answered in an unexpected shape") from None
        if not reply.ok or reply.data is None:
            raise _problem(reply.error)
        return reply.data

    async def audience(
        self, request: Request, answer: type[T], *, write: bool, timeout: float | None = None
    ) -> T:
        """A request the campaign service answers from its audience tables (contacts,
        counts…): a write goes to its command subject, a read to its query subject."""
        kind = request.__struct_config__.tag
        subject = self.subjects.command(kind) if write else self.subjects.query(kind)
        raw = await self._request(subject, encode(request), "campaign", timeout or self.timeout)
        try:
            reply = decode(raw, Reply[answer])  # type: ignore[valid-type]
        except msgspec.ValidationError as error:
            log.error("bus.bad_reply", subject=subject, error=str(error))
            raise Broken("the campaign service answered in an unexpected shape") from None
        if not reply.ok or reply.data is None:
            raise _problem(reply.error)
        return reply.data

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

    async def _request(self, subject: str, payload: bytes, service: str, timeout: float) -> bytes:
        headers = {}
        correlation_id = current_correlation_id()
        if correlation_id:
            headers[CORRELATION_HEADER] = correlation_id
        headers = self.signer.sign(subject, payload, headers)
        try:
            msg = await self.nc.request(subject, payload, timeout=timeout, headers=headers)
        except nats.errors.NoRespondersError:
            raise Unavailable(f"the {service} service is not running") from None
        except (nats.errors.TimeoutError, nats.errors.ConnectionClosedError):
            raise Unavailable(f"the {service} service did not answer in time") from None
        return msg.data


def _problem(error: object) -> Problem:
    if error is None:
        return Broken("the service answered without a result")
    return Problem(error.message, details=error.details, code=error.code)  # type: ignore[attr-defined]
