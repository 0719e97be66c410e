"""A small async client of the simulator for tests and benchmarks: raw sends, invites, and
the ``control`` requests (inject a FloodWait or PEER_FLOOD, reconfigure, read counters)."""

from __future__ import annotations

import asyncio
from typing import Any

from telecast_libs import simproto


class SimulatorClient:
    """One pipelined connection; receipts pile up in ``receipts``."""

    def __init__(self, connection: simproto.Connection) -> None:
        self.connection = connection
        self.receipts: asyncio.Queue[simproto.Receipt] = asyncio.Queue()

    @classmethod
    async def connect(cls, address: str) -> SimulatorClient:
        host, _, port = address.rpartition(":")
        client = cls.__new__(cls)
        client.receipts = asyncio.Queue()
        client.connection = await simproto.Connection.open(
            host, int(port), on_receipt=client.receipts.put_nowait
        )
        return client

    async def close(self) -> None:
        await self.connection.close()

    def submit_send(
        self, account: str, chat_id: int, text: str = "hello", **fields: Any
    ) -> asyncio.Future[simproto.Ok | simproto.Refused]:
        """Write a send now (pipelined); await the future for its answer."""
        return self.connection.submit(
            lambda i: simproto.Send(id=i, account=account, chat_id=chat_id, text=text, **fields)
        )

    async def send(
        self, account: str, chat_id: int, text: str = "hello", **fields: Any
    ) -> simproto.Ok | simproto.Refused:
        return await self.submit_send(account, chat_id, text, **fields)

    async def invite(
        self, account: str, chat_id: int, **fields: Any
    ) -> simproto.Ok | simproto.Refused:
        return await self.connection.request(
            lambda i: simproto.Invite(id=i, account=account, chat_id=chat_id, **fields)
        )

    async def _control(self, action: str, **fields: Any) -> dict[str, Any]:
        answer = await self.connection.request(
            lambda i: simproto.Control(id=i, action=action, **fields)
        )
        if isinstance(answer, simproto.Refused):
            raise ValueError(answer.error)
        return answer.data or {}

    async def flood_wait(self, account: str, seconds: float) -> None:
        """The account's next send is answered FLOOD_WAIT_X ``seconds``."""
        await self._control("floodWait", account=account, flood_wait=seconds)

    async def peer_flood(self, account: str) -> None:
        """Every later send from the account is answered PEER_FLOOD."""
        await self._control("peerFlood", account=account)

    async def reset(self, account: str | None = None) -> None:
        """Forget flood waits, PEER_FLOOD and windows (of one account, or all)."""
        await self._control("reset", account=account)

    async def configure(self, **settings: Any) -> dict[str, Any]:
        """Replace rules by their camelCase names (``accountRate``, ``errorMix``, …)."""
        return await self._control("configure", settings=settings)

    async def counters(self) -> dict[str, int]:
        return await self._control("counters")
