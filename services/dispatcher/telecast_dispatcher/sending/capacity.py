"""The dispatcher's sending capacity over NATS request/reply (``<ns>.query.sending.capacity``):
how many accounts can send and their summed rate, for the gateway's estimate of when an
execution completes. Only a replica that sends answers it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client
from prometheus_client import Histogram

from telecast_dispatcher.request_endpoint import RequestEndpoint
from telecast_dispatcher.telegram.port import Account
from telecast_libs.command_signing import CommandVerifier
from telecast_libs.contracts.sending import GetSendingCapacity, SendingCapacity
from telecast_libs.contracts.views import QueryReply
from telecast_libs.subjects import Subjects

LATENCY = Histogram(
    "telecast_capacity_request_seconds", "Time to answer a sending capacity request", ["kind"]
)


def capacity(accounts: list[Account], retired: set[str]) -> SendingCapacity:
    """The accounts not retired and their summed rate; no rate when one has no limit."""
    usable = [account for account in accounts if account.name not in retired]
    unlimited = any(account.rate <= 0 for account in usable)
    return SendingCapacity(
        accounts=len(usable),
        rate=None if unlimited else sum(account.rate for account in usable),
    )


class CapacityEndpoint(RequestEndpoint):
    name = "capacity"
    requests = GetSendingCapacity
    reply = QueryReply[SendingCapacity]

    def __init__(
        self,
        nc: Client,
        subjects: Subjects,
        accounts: list[Account],
        retired: Callable[[], Awaitable[set[str]]],
        verifier: CommandVerifier,
    ) -> None:
        subject = subjects.query(GetSendingCapacity.__struct_config__.tag)
        super().__init__(nc, [subject], LATENCY, verifier)
        self.accounts = accounts
        self.retired = retired

    async def handle(self, request: Any) -> SendingCapacity:
        return capacity(self.accounts, await self.retired())
