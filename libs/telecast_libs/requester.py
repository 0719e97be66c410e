"""The asking side of NATS request/reply: a request signed, sent with a deadline, and its
reply decoded, for every service that asks another (the gateway, the dispatcher).

Each request is signed as the sender's (``telecast_libs.command_signing``) and carries the
correlation id it is given. A service that is not there or too slow is ``Unavailable`` (a
retry may work); one that answers outside its contract is ``Broken`` (a bug: a retry meets
it again); a refusal is raised as the ``Problem`` the service answered with.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
import nats.errors
from nats.aio.client import Client

from telecast_libs.command_signing import CommandSigner
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
from telecast_libs.contracts.messages import CommandReply
from telecast_libs.contracts.replies import Reply
from telecast_libs.log import CORRELATION_HEADER, get_logger

log = get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class Unavailable(Problem):
    """The service is not there or too slow: a client may retry (503)."""

    code = ErrorCode.SERVICE_UNAVAILABLE


class Broken(Problem):
    """The service answered, but not as the contract says: a bug, which a retry does not
    fix (500)."""

    code = ErrorCode.INTERNAL_ERROR


def refusal(error: ErrorBody | None) -> Problem:
    """The ``Problem`` a reply without a result stands for."""
    if error is None:
        return Broken("the service answered without a result")
    return Problem(error.message, details=error.details, code=error.code)


class Requester:
    """Signed requests on one NATS connection; ``timeout`` (seconds) unless one is given."""

    def __init__(self, nc: Client, signer: CommandSigner, timeout: float) -> None:
        self.nc = nc
        self.signer = signer
        self.timeout = timeout

    async def ask(
        self,
        subject: str,
        request: Any,
        answer: type[T],
        *,
        service: str,
        correlation_id: str | None,
        timeout: float | None = None,
    ) -> T:
        """The answer's data (a ``Reply[answer]``), or the service's refusal raised."""
        reply = await self._exchange(
            subject,
            request,
            Reply[answer],
            service,
            correlation_id,
            timeout,  # type: ignore[valid-type]
        )
        if not reply.ok or reply.data is None:
            raise refusal(reply.error)
        return reply.data

    async def command(
        self,
        subject: str,
        command: Any,
        *,
        service: str,
        correlation_id: str | None,
        timeout: float | None = None,
    ) -> CommandReply:
        """The campaign service's reply to a command, refusal included: whether a refusal
        is an error is the sender's to say."""
        return await self._exchange(
            subject, command, CommandReply, service, correlation_id, timeout
        )

    async def _exchange(
        self,
        subject: str,
        request: Any,
        reply: type[R],
        service: str,
        correlation_id: str | None,
        timeout: float | None,
    ) -> R:
        payload = encode(request)
        headers = {CORRELATION_HEADER: correlation_id} if correlation_id else None
        headers = self.signer.sign(subject, payload, headers)
        try:
            msg = await self.nc.request(
                subject, payload, timeout=timeout or self.timeout, headers=headers
            )
        except nats.errors.NoRespondersError:
            raise Unavailable(f"the {service} service is not running") from None
        except (nats.errors.TimeoutError, nats.errors.ConnectionClosedError):
            raise Unavailable(f"the {service} service did not answer in time") from None
        try:
            return decode(msg.data, reply)
        except msgspec.ValidationError as error:
            log.error("request.bad_reply", subject=subject, error=str(error))
            raise Broken(f"the {service} service answered in an unexpected shape") from None
