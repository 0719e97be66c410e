"""Requests sent over NATS as the gateway or the dispatcher send them: signed with their
development keys, which the tests' platforms (TELECAST_ENV=development) trust."""

from __future__ import annotations

from nats.aio.client import Client
from nats.aio.msg import Msg

from telecast_libs.command_signing import (
    DEV_DISPATCHER_SIGNING_KEY,
    DEV_GATEWAY_SIGNING_KEY,
    DISPATCHER,
    GATEWAY,
    CommandSigner,
)

_SIGNERS = {
    GATEWAY: CommandSigner(GATEWAY, DEV_GATEWAY_SIGNING_KEY),
    DISPATCHER: CommandSigner(DISPATCHER, DEV_DISPATCHER_SIGNING_KEY),
}


def signed(subject: str, payload: bytes, signer: str = GATEWAY) -> dict[str, str]:
    """The headers that make ``payload`` on ``subject`` a command from ``signer``."""
    return _SIGNERS[signer].sign(subject, payload)


async def request(
    nc: Client, subject: str, payload: bytes, signer: str = GATEWAY, timeout: float = 10
) -> Msg:
    """``nc.request`` with the request signed as ``signer``'s."""
    return await nc.request(
        subject, payload, timeout=timeout, headers=signed(subject, payload, signer)
    )
