"""The dispatcher's sending capacity over NATS request/reply (``<ns>.query.sending.capacity``):
how many accounts can send and their summed rate, for the gateway's estimate of when an
execution completes. Only a replica that sends answers it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from prometheus_client import Histogram

from telecast_dispatcher.telegram.port import Account
from telecast_libs.command_signing import CommandVerifier
from telecast_libs.contracts.sending import GetSendingCapacity, SendingCapacity
from telecast_libs.request_endpoint import RequestEndpoint
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


def capacity_endpoint(
    nc: Client,
    subjects: Subjects,
    accounts: list[Account],
    retired: Callable[[], Awaitable[set[str]]],
    verifier: CommandVerifier,
) -> RequestEndpoint:
    async def answer(request: GetSendingCapacity) -> SendingCapacity:
        return capacity(accounts, await retired())

    return RequestEndpoint(
        nc,
        name="capacity",
        subjects=[subjects.query(GetSendingCapacity.__struct_config__.tag)],
        queue="dispatcher",
        handlers={GetSendingCapacity: answer},
        latency=LATENCY,
        unavailable="the dispatcher's database is unavailable",
        verifier=verifier,
    )
