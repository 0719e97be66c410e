"""Reads and clicks the sender reports (``TelegramSender.on_receipt``), recorded as
interactions of the delivery they name: found in the ledger by (account, chat, Telegram's
message id).

A read is one per delivery, whatever the number of its receipts. A click's URL is the target
of the tracked link it followed (the simulator reports the button's URL as sent), else the
URL as reported. A receipt can arrive before its send's outcome is committed (the recorder
batches): it is looked for again a few times, then dropped (and logged).
"""

from __future__ import annotations

import asyncio

from telecast_dispatcher.telegram.port import Receipt
from telecast_dispatcher.tracking.interactions import (
    CLICKED,
    READ,
    Interaction,
    Interactions,
    store,
)
from telecast_libs.contracts.tracking import interaction_id
from telecast_libs.log import get_logger
from telecast_libs.tracking import InvalidToken, token_of, verify

log = get_logger(__name__)

_RETRIES = (0.2, 0.5, 1.0, 2.0, 5.0)


class Receipts:
    """Records the receipts of one sender (one per dispatcher process)."""

    def __init__(
        self, interactions: Interactions, *, tracking_secret: str, tracking_base_url: str = ""
    ) -> None:
        self.interactions = interactions
        self.tracking_secret = tracking_secret
        self.tracking_base_url = tracking_base_url
        self._tasks: set[asyncio.Task[None]] = set()

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    def on_receipt(self, receipt: Receipt) -> None:
        """The sender's callback: record it in the background."""
        task = asyncio.get_running_loop().create_task(self._receipt(receipt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _receipt(self, receipt: Receipt) -> None:
        for wait in (0.0, *_RETRIES):
            await asyncio.sleep(wait)
            try:
                if await self.record_receipt(receipt):
                    return
            except Exception as error:
                log.warning("receipt.record_failed", kind=receipt.kind, error=repr(error))
        log.info(
            "receipt.unattributed",
            kind=receipt.kind,
            account=receipt.account,
            chat_id=receipt.chat_id,
            message_id=receipt.message_id,
        )

    async def record_receipt(self, receipt: Receipt) -> bool:
        """Record a read or a click of a sent message; False if no delivery is known for it
        (yet)."""
        if receipt.kind not in ("read", "click"):
            return True  # nothing to record
        async with self.interactions.pool.connection() as conn, conn.transaction():
            delivery = await (
                await conn.execute(
                    "SELECT d.campaign_id, d.execution_id, d.contact_id, d.message_id, "
                    "d.variation_id, d.segment_ids, e.correlation_id "
                    "FROM dispatcher.deliveries d JOIN dispatcher.executions e "
                    "USING (execution_id) WHERE d.telegram_id = %s "
                    "AND d.telegram_message_id = %s AND d.account = %s",
                    (receipt.chat_id, receipt.message_id, receipt.account),
                )
            ).fetchone()
            if delivery is None:
                return False
            campaign_id, execution_id, contact_id, message_id = delivery[:4]
            variation_id, segment_ids, correlation_id = delivery[4:]
            execution_id, contact_id = str(execution_id), str(contact_id)
            if receipt.kind == "read":
                # A message is read once: every receipt of it names the same read.
                id_ = interaction_id("read", execution_id, contact_id, message_id)
                kind, url = READ, None
            else:
                id_ = interaction_id(
                    "click-receipt",
                    receipt.account,
                    str(receipt.chat_id),
                    str(receipt.message_id),
                    receipt.at.isoformat(),
                )
                kind, url = CLICKED, self._clicked_url(receipt.url)
            stored, inserted = await store(
                conn,
                Interaction(
                    id=id_,
                    type=kind,
                    campaign_id=str(campaign_id),
                    execution_id=execution_id,
                    contact_id=contact_id,
                    telegram_id=receipt.chat_id,
                    message_id=message_id,
                    variation_id=variation_id,
                    segment_ids=tuple(segment_ids or ()),
                    url=url,
                    occurred_at=receipt.at,
                    correlation_id=correlation_id,
                ),
            )
        if inserted:
            await self.interactions.publish_safely([stored])
        return True

    def _clicked_url(self, url: str | None) -> str | None:
        """The URL a click went to: a tracked link's target, or the URL as reported."""
        if url is None or not self.tracking_base_url:
            return url
        token = token_of(url, self.tracking_base_url)
        if token is None:
            return url
        try:
            return verify(self.tracking_secret, token).url
        except InvalidToken:
            return url
