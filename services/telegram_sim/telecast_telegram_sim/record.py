"""The simulator's durable record in PostgreSQL (schema ``telegram_sim``), written in batches.

Group commit: rows wait in memory until the writer takes them all in one transaction (COPY
per table); each row's ``done`` callback runs after that commit, so an accepted send is
answered only once it is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from telecast_libs.log import get_logger

log = get_logger(__name__)

SCHEMA = "telegram_sim"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

COLUMNS = {
    "messages": (
        "account, chat_id, chat_kind, message_id, text, parse_mode, buttons, media, reference,"
        " correlation_id, accepted_at"
    ),
    "refusals": "account, chat_id, error, value, reference, at, over_limit",
    "violations": "account, chat_id, kind, at, detail",
    "invites": "account, chat_id, name, expire_date, member_limit, join_request, link, at",
    "receipts": "account, chat_id, message_id, kind, url, at",
}

Done = Callable[[bool], None]


def timestamp(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


async def last_message_ids(pool: AsyncConnectionPool) -> dict[int, int]:
    """Each chat's highest message id so far, so ids keep increasing across restarts."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"SELECT chat_id, max(message_id) FROM {SCHEMA}.messages GROUP BY chat_id"
        )
        return {chat_id: last for chat_id, last in await cursor.fetchall()}


class Recorder:
    """Rows in, committed in batches; ``done(True)`` after the commit, ``done(False)`` if
    the batch could not be written."""

    def __init__(self, pool: AsyncConnectionPool, max_batch: int = 10_000) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._pending: list[tuple[str, tuple[object, ...], Done | None]] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self.batches = 0

    def add(self, table: str, row: tuple[object, ...], done: Done | None = None) -> None:
        self._pending.append((table, row, done))
        self._wake.set()

    async def run(self) -> None:
        while True:
            if not self._pending:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            ok = await self._write(batch)
            for _, _, done in batch:
                if done is not None:
                    done(ok)

    async def stop(self) -> None:
        """Let the writer flush what is pending, then end."""
        self._stopping = True
        self._wake.set()

    async def _write(self, batch: list[tuple[str, tuple[object, ...], Done | None]]) -> bool:
        by_table: dict[str, list[tuple[object, ...]]] = {}
        for table, row, _ in batch:
            by_table.setdefault(table, []).append(row)
        try:
            async with self._pool.connection() as conn, conn.transaction():
                cursor = conn.cursor()
                for table, rows in by_table.items():
                    statement = f"COPY {SCHEMA}.{table} ({COLUMNS[table]}) FROM STDIN"
                    async with cursor.copy(statement) as copy:
                        for row in rows:
                            await copy.write_row(row)
        except Exception as error:
            log.error("record.write_failed", rows=len(batch), error=repr(error))
            return False
        self.batches += 1
        return True
