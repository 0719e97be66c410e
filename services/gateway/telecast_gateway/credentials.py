"""Every request's token checked against the operator as stored now.

A token names its operator and the credentials version it was issued with; a deleted or
disabled operator, or one whose password or role changed since, must lose access at once,
not when the token expires. Reading the operator on every request would cost a database
round trip each, so accounts are cached for ``ttl`` seconds, and a gateway that changes an
operator announces it on NATS: every gateway drops that operator from its cache at once.
The cache's life is what remains if an announcement is lost (NATS away at that moment).
"""

from __future__ import annotations

import time

from nats.aio.client import Client
from nats.aio.msg import Msg

from telecast_gateway.operators import Account, OperatorStore
from telecast_libs.log import get_logger

log = get_logger(__name__)

_MAX_ENTRIES = 10_000


class Credentials:
    def __init__(self, operators: OperatorStore, ttl: float = 5.0) -> None:
        self.operators = operators
        self.ttl = ttl
        self._cached: dict[str, tuple[float, Account | None]] = {}
        self._nc: Client | None = None
        self._subject = ""

    async def account(self, operator_id: str) -> Account | None:
        """The operator as stored (cached at most ``ttl`` seconds), None if there is none."""
        now = time.monotonic()
        cached = self._cached.get(operator_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        account = await self.operators.get(operator_id)
        if len(self._cached) >= _MAX_ENTRIES:
            self._cached.clear()
        self._cached[operator_id] = (now, account)
        return account

    async def listen(self, nc: Client, subject: str) -> None:
        """Drop what other gateways say has changed."""
        self._nc, self._subject = nc, subject

        async def dropped(msg: Msg) -> None:
            self._cached.pop(msg.data.decode(), None)

        await nc.subscribe(subject, cb=dropped)

    async def changed(self, operator_id: str) -> None:
        """This gateway changed the operator: forget it here, and tell the others."""
        self._cached.pop(operator_id, None)
        if self._nc is None:
            return
        try:
            await self._nc.publish(self._subject, operator_id.encode())
        except Exception as error:  # the others' caches lapse within ttl anyway
            log.warning("credentials.announce_failed", operator_id=operator_id, error=repr(error))
