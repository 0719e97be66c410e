"""The ``TelegramSender`` adapter for the Telegram simulator (the default in development).

One pipelined TCP connection per process, shared by every account, kept up with backoff.
A send that cannot be written fails with ``NETWORK_ERROR`` (nothing left); one written but
never answered (connection lost, or no answer in ``timeout``) with ``TIMEOUT`` (it may have
been accepted, so it must not be repeated).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

from telecast_dispatcher.sending import outcomes
from telecast_dispatcher.telegram.port import (
    Accepted,
    Account,
    OutgoingMessage,
    Receipt,
    SendError,
    Target,
)
from telecast_libs import simproto
from telecast_libs.log import get_logger

log = get_logger(__name__)


def _time(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


class SimulatorSender:
    """Sends through the simulator at ``address`` ("host:port")."""

    def __init__(
        self,
        accounts: list[Account],
        address: str,
        *,
        timeout: float = 10.0,
        connect_wait: float = 2.0,
        backoff_min: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        self.accounts = accounts
        host, _, port = address.rpartition(":")
        self._host = host or "127.0.0.1"
        self._port = int(port)
        self._timeout = timeout
        self._connect_wait = connect_wait
        self._backoff = (backoff_min, backoff_max)
        self._connection: simproto.Connection | None = None
        self._connected = asyncio.Event()
        self._keeping: asyncio.Task[None] | None = None
        self._handlers: list[Callable[[Receipt], None]] = []

    # --- the connection ---------------------------------------------------------------

    def _start(self) -> None:
        if self._keeping is None or self._keeping.done():
            self._keeping = asyncio.create_task(self._keep_connected())

    async def _keep_connected(self) -> None:
        delay = self._backoff[0]
        while True:
            try:
                connection = await simproto.Connection.open(
                    self._host, self._port, on_receipt=self._receipt
                )
            except OSError as error:
                log.debug("sim_sender.connect_failed", error=repr(error), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff[1])
                continue
            delay = self._backoff[0]
            self._connection = connection
            self._connected.set()
            log.info("sim_sender.connected", address=f"{self._host}:{self._port}")
            await connection.closed
            self._connected.clear()
            self._connection = None
            log.warning("sim_sender.disconnected", address=f"{self._host}:{self._port}")

    async def open(self, account: str) -> None:
        """Start the shared connection if needed and give it a moment to come up."""
        self._start()
        if not self._connected.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), self._connect_wait)

    async def close(self, account: str) -> None:
        """Nothing to do: the connection is shared by every account."""

    async def shutdown(self) -> None:
        if self._keeping is not None:
            self._keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeping
            self._keeping = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        self._connected.clear()

    async def _request(self, make: Callable[[int], simproto.Request]) -> simproto.Ok:
        self._start()
        connection = self._connection
        if connection is None or not connection.is_open:
            raise SendError(outcomes.NETWORK_ERROR, detail="the simulator is not connected")
        try:
            future = connection.submit(make)
        except (simproto.ConnectionLost, OSError) as error:
            raise SendError(outcomes.NETWORK_ERROR, detail=str(error)) from None
        try:
            async with asyncio.timeout(self._timeout):
                answer = await asyncio.shield(future)
        except TimeoutError:
            connection.forget(future)
            raise SendError(outcomes.TIMEOUT, detail=f"no answer in {self._timeout}s") from None
        except simproto.ConnectionLost:
            raise SendError(outcomes.TIMEOUT, detail="connection lost before the answer") from None
        if isinstance(answer, simproto.Refused):
            raise SendError(
                outcomes.classify(answer.error, answer.status),
                seconds=answer.value,
                detail=answer.error,
            )
        return answer

    # --- the port -----------------------------------------------------------------------

    async def send(self, account: str, target: Target, message: OutgoingMessage) -> Accepted:
        answer = await self._request(
            lambda request_id: simproto.Send(
                id=request_id,
                account=account,
                chat_id=target.chat_id,
                chat_kind=str(target.kind),
                text=message.text,
                parse_mode=message.parse_mode,
                buttons=message.buttons,
                media=message.media,
                reference=message.reference,
                correlation_id=message.correlation_id,
            )
        )
        assert answer.message_id is not None and answer.at is not None
        return Accepted(message_id=answer.message_id, at=_time(answer.at))

    async def create_invite_link(
        self,
        account: str,
        chat_id: int,
        *,
        name: str | None = None,
        expire_date: datetime | None = None,
        member_limit: int | None = None,
        creates_join_request: bool = False,
    ) -> str:
        answer = await self._request(
            lambda request_id: simproto.Invite(
                id=request_id,
                account=account,
                chat_id=chat_id,
                name=name,
                expire_date=None if expire_date is None else expire_date.timestamp(),
                member_limit=member_limit,
                join_request=creates_join_request,
            )
        )
        assert answer.link is not None
        return answer.link

    def on_receipt(self, handler: Callable[[Receipt], None]) -> None:
        self._handlers.append(handler)

    def _receipt(self, frame: simproto.Receipt) -> None:
        receipt = Receipt(
            account=frame.account,
            chat_id=frame.chat_id,
            message_id=frame.message_id,
            kind=frame.kind,
            at=_time(frame.at),
            url=frame.url,
        )
        for handler in self._handlers:
            try:
                handler(receipt)
            except Exception as error:
                log.error("sim_sender.receipt_handler_failed", error=repr(error))
