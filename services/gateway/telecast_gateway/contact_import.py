"""A contact import: the body streamed through a row reader, valid rows sent to the campaign
service in batches, and the report.

A few batches exist at a time: up to ``IN_FLIGHT`` being upserted by the campaign service
while the next fills from the body. Memory is bounded by the batch size, not the file.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator

from prometheus_client import Counter

from telecast_gateway.bus import Bus
from telecast_gateway.contact_rows import CsvRows, JsonLines
from telecast_libs.contracts.base import encode
from telecast_libs.contracts.contacts import (
    MAX_REPORTED_ERRORS,
    BatchUpserted,
    ContactInput,
    ImportContactsBatch,
    ImportReport,
    RowError,
)
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import CommandMeta
from telecast_libs.log import get_logger

log = get_logger(__name__)

ROWS = Counter(
    "telecast_gateway_contact_import_rows_total", "Imported contact rows, by outcome", ["outcome"]
)

BATCH_ROWS = 2000
# Batches upserted at once: one landing while the campaign service reads the next keeps
# PostgreSQL busy; more would only compete for the same cores.
IN_FLIGHT = 2
# An import batch is one transaction of up to BATCH_ROWS upserts; under load it can take
# longer than an ordinary request.
BATCH_TIMEOUT_SECONDS = 60.0


class EmptyImport(Problem):
    code = ErrorCode.VALIDATION_ERROR


class ContactImport:
    """One import in progress: feed it parsed rows, then ``finish()`` for the report.

    Up to ``in_flight`` batches are being upserted at once (each in its own transaction),
    while the next fills from the body. A batch that shares a Telegram id with one in flight
    waits for it, so a later row of a contact always lands after an earlier one.
    """

    def __init__(
        self,
        bus: Bus,
        meta: CommandMeta,
        batch_rows: int = BATCH_ROWS,
        in_flight: int = IN_FLIGHT,
        max_payload: int = 0,
    ) -> None:
        self.bus = bus
        self.meta = meta
        self.batch_rows = batch_rows
        self.in_flight = in_flight
        # NATS refuses a message over the server's max_payload: a batch of long rows is split.
        self.max_payload = max_payload or 1024 * 1024
        self.created = 0
        self.updated = 0
        self.rejected = 0
        self.errors: list[RowError] = []
        self._rows: list[ContactInput] = []
        # Batches in flight, oldest first, with their Telegram ids.
        self._sending: deque[tuple[asyncio.Task[None], set[int]]] = deque()

    async def add(self, parsed: list[ContactInput | RowError]) -> None:
        for item in parsed:
            if isinstance(item, RowError):
                self.rejected += 1
                ROWS.labels("rejected").inc()
                if len(self.errors) < MAX_REPORTED_ERRORS:
                    self.errors.append(item)
                continue
            self._rows.append(item)
            if len(self._rows) >= self.batch_rows:
                await self._dispatch()

    async def finish(self) -> ImportReport:
        await self._dispatch()
        while self._sending:
            await self._land_oldest()
        return ImportReport(
            created=self.created,
            updated=self.updated,
            rejected=self.rejected,
            errors=self.errors,
            errors_truncated=self.rejected > len(self.errors),
        )

    def abandon(self) -> None:
        """Stop waiting for the batches in flight (the request failed or was cancelled)."""
        for task, _ in self._sending:
            task.cancel()
        self._sending.clear()

    async def _dispatch(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        ids = {row.telegram_id for row in rows}
        while self._sending and (
            len(self._sending) >= self.in_flight
            or any(not ids.isdisjoint(sent) for _, sent in self._sending)
        ):
            await self._land_oldest()
        self._sending.append((asyncio.create_task(self._send(rows)), ids))

    async def _land_oldest(self) -> None:
        """Wait for the oldest batch in flight; a failure stops the import with what landed."""
        task, _ = self._sending.popleft()
        try:
            await task
        except Problem as problem:
            self.abandon()
            raise Problem(
                f"the import stopped: {problem.message}. The rows sent before were imported; "
                "import the file again to complete it (rows are upserted, never duplicated)",
                details={
                    "created": self.created,
                    "updated": self.updated,
                    "rejected": self.rejected,
                },
                code=problem.code,
            ) from None

    async def _send(self, rows: list[ContactInput]) -> None:
        command = ImportContactsBatch(meta=self.meta, rows=rows)
        if len(rows) > 1 and len(encode(command)) > self.max_payload:
            half = len(rows) // 2
            await self._send(rows[:half])
            await self._send(rows[half:])
            return
        done = await self.bus.audience(
            command, BatchUpserted, write=True, timeout=BATCH_TIMEOUT_SECONDS
        )
        self.created += done.created
        self.updated += done.updated
        ROWS.labels("created").inc(done.created)
        ROWS.labels("updated").inc(done.updated)


async def run_import(
    chunks: AsyncIterator[bytes], reader: CsvRows | JsonLines, contacts: ContactImport
) -> ImportReport:
    """Read the whole body through ``reader`` into ``contacts``; the report."""
    started = time.perf_counter()
    try:
        async for chunk in chunks:
            await contacts.add(reader.feed(chunk))
        await contacts.add(reader.finish())
        if reader.empty:
            raise EmptyImport(
                "the body is empty: send a CSV header and rows, or JSON lines",
                details=[{"field": "body", "source": "body"}],
            )
        report = await contacts.finish()
    except BaseException:
        contacts.abandon()
        raise
    seconds = time.perf_counter() - started
    rows = report.created + report.updated + report.rejected
    log.info(
        "contacts.imported",
        created=report.created,
        updated=report.updated,
        rejected=report.rejected,
        seconds=round(seconds, 3),
        rows_per_second=round(rows / seconds) if seconds else None,
    )
    return report
