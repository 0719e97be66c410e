"""One active worker per database: a PostgreSQL advisory lock elects it.

``lead_forever`` waits for the lock, runs ``work`` while it holds it, and starts over after
any error (one second later). The lock is a session lock on a connection of its own, so
PostgreSQL frees it when the process or the connection dies; the connection is checked
every few seconds and ``work`` is cancelled if it is lost, so that two leaders never work at
once for longer than that. ``work`` is given that connection: what it writes there (a
position, say) is written only while the lock is held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import psycopg

from telecast_libs.log import get_logger
from telecast_libs.pg import try_advisory_lock

log = get_logger(__name__)

_CHECK_SECONDS = 2.0


async def lead_forever(
    database_url: str,
    lock: str,
    work: Callable[[psycopg.AsyncConnection], Awaitable[None]],
    *,
    name: str,
    on_leading: Callable[[bool], None] = lambda _: None,
) -> None:
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
                while not await try_advisory_lock(conn, lock):
                    await asyncio.sleep(1.0)
                on_leading(True)
                log.info(f"{name}.leading")
                await _while_held(conn, work)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning(f"{name}.restarting", error=repr(error), exc_info=True)
        finally:
            on_leading(False)
        await asyncio.sleep(1.0)


async def _while_held(
    conn: psycopg.AsyncConnection, work: Callable[[psycopg.AsyncConnection], Awaitable[None]]
) -> None:
    task = asyncio.create_task(work(conn))
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=_CHECK_SECONDS)
            if not task.done():
                await conn.execute("SELECT 1")  # raises if the lock's connection is gone
        await task
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
