"""Operator commands of sending (``python -m telecast_dispatcher …``).

- ``republish-deliveries [--execution ID]``: publish the delivery events again from the
  ledger, the source of truth: every unpublished outcome, or every outcome of one execution
  (after a stream lost messages), and the interactions (reads, clicks, conversions) likewise
  from their table. JetStream drops what it still remembers; consumers are idempotent
  beyond its window.
- ``republish-work [--execution ID]``: queue the work items not yet done again (after the
  work queue lost messages): the leader publishes them; a run skips what the ledger says is
  done, so a duplicate item sends nothing twice.
- ``accounts``: the sending accounts Telegram has taken out of use, and why.
- ``restore-account NAME``: put an account back into the rotation (for example once a
  PEER_FLOOD limit has passed).
"""

from __future__ import annotations

import asyncio

from telecast_dispatcher.migrations import HISTORY
from telecast_dispatcher.sending import events
from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_dispatcher.settings import DispatcherSettings
from telecast_dispatcher.tracking import interactions
from telecast_libs import nats as tnats
from telecast_libs.command_signing import DISPATCHER, CommandSigner
from telecast_libs.migrations import require_current
from telecast_libs.pg import open_pool
from telecast_libs.streams import delivery_events_stream
from telecast_libs.subjects import subjects_for


async def republish_deliveries(
    settings: DispatcherSettings, execution_id: str | None
) -> tuple[int, int]:
    """How many delivery events, and how many interaction events, were published."""
    subjects = subjects_for(settings.telecast_namespace)
    await asyncio.to_thread(require_current, settings.database_url, HISTORY)
    pool = await open_pool(settings.database_url, max_size=2, name="dispatcher-republish")
    nc = await tnats.connect(settings, name="telecast-dispatcher-republish")
    signer = CommandSigner(DISPATCHER, settings.dispatcher_signing_key)
    try:
        js = nc.jetstream()
        await tnats.ensure_stream(js, delivery_events_stream(subjects))
        published = await events.republish_deliveries(
            pool,
            js,
            subjects,
            CampaignClient(nc, subjects, signer),
            older_than_seconds=0.0,
            execution_id=execution_id,
        )
        return published, await interactions.republish_interactions(
            pool, js, subjects, older_than_seconds=0.0, execution_id=execution_id
        )
    finally:
        await nc.drain()
        await pool.close()


async def retired_accounts(settings: DispatcherSettings) -> list[tuple]:
    await asyncio.to_thread(require_current, settings.database_url, HISTORY)
    pool = await open_pool(settings.database_url, max_size=1, name="dispatcher-accounts")
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT account, state, code, detail, since FROM dispatcher.account_states "
                "ORDER BY account"
            )
            return await cursor.fetchall()
    finally:
        await pool.close()


async def restore_account(settings: DispatcherSettings, account: str) -> bool:
    await asyncio.to_thread(require_current, settings.database_url, HISTORY)
    pool = await open_pool(settings.database_url, max_size=1, name="dispatcher-accounts")
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "DELETE FROM dispatcher.account_states WHERE account = %s", (account,)
            )
            return cursor.rowcount == 1
    finally:
        await pool.close()


async def republish_work(settings: DispatcherSettings, execution_id: str | None) -> int:
    await asyncio.to_thread(require_current, settings.database_url, HISTORY)
    pool = await open_pool(settings.database_url, max_size=1, name="dispatcher-republish")
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute(
                """
                UPDATE dispatcher.work_items w
                -- A new generation is a new message id: JetStream would drop the old one
                -- as a duplicate within its window.
                SET published = false, generation = w.generation + 1
                FROM dispatcher.executions e
                WHERE e.execution_id = w.execution_id AND w.state = 'queued'
                  AND e.campaign_state = 'active' AND (%s::uuid IS NULL OR w.execution_id = %s)
                """,
                (execution_id, execution_id),
            )
            return cursor.rowcount
    finally:
        await pool.close()
