"""A request to the dispatcher over NATS (the webhook API, tracking): its answer's data, or
the dispatcher's refusal as a ``Problem``; 503 when it is away or answers oddly."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
import nats.errors
from nats.aio.client import Client

from telecast_gateway.bus import Broken
from telecast_libs.command_signing import CommandSigner
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.log import CORRELATION_HEADER, current_correlation_id, get_logger

log = get_logger(__name__)

T = TypeVar("T")


class DispatcherUnavailable(Problem):
    code = ErrorCode.SERVICE_UNAVAILABLE


async def ask_dispatcher(
    nc: Client,
    signer: CommandSigner,
    subject: str,
    request: Any,
    reply: Any,
    answer: type[T],
    timeout: float,
) -> T:
    """``reply`` is the generic reply struct (``Reply``, ``Reply``)."""
    headers = {}
    if correlation_id := current_correlation_id():
        headers[CORRELATION_HEADER] = correlation_id
    payload = encode(request)
    headers = signer.sign(subject, payload, headers)
    try:
        msg = await nc.request(subject, payload, timeout=timeout, headers=headers)
    except nats.errors.NoRespondersError:
        raise DispatcherUnavailable("the dispatcher service is not running") from None
    except (nats.errors.TimeoutError, nats.errors.ConnectionClosedError):
        raise DispatcherUnavailable("the dispatcher service did not answer in time") from None
    try:
        answered = decode(msg.data, reply[answer])
    except msgspec.ValidationError as error:
        log.error("dispatcher_requests.bad_reply", subject=subject, error=str(error))
        raise Broken("the dispatcher answered in an unexpected shape") from None
    if not answered.ok or answered.data is None:
        if answered.error is None:
            raise Broken("the dispatcher answered without a result")
        error = answered.error
        raise Problem(error.message, details=error.details, code=error.code)
    return answered.data
