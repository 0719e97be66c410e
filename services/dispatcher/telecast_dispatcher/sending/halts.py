"""Whether each campaign this replica is sending may go on: pause within one second.

Two sources, the newer campaign version winning: the campaign's lifecycle events as NATS
delivers them (every replica subscribes; milliseconds after the relay publishes), and the
``executions`` table the intake keeps (polled twice a second: the truth, also when a message
was missed). A halt reaches the runs of that campaign at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from psycopg_pool import AsyncConnectionPool

from telecast_libs.contracts.events import SENDING_STATE_AFTER, decode_event
from telecast_libs.log import get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

_POLL_SECONDS = 0.5


class Halts:
    def __init__(self, nc: Client, pool: AsyncConnectionPool, subjects: Subjects) -> None:
        self.nc = nc
        self.pool = pool
        self.subjects = subjects
        # campaign id -> (state, campaign version that said so)
        self._states: dict[str, tuple[str, int]] = {}
        self._watchers: dict[str, set[Callable[[str], None]]] = {}

    def state(self, campaign_id: str) -> str:
        return self._states.get(campaign_id, ("active", 0))[0]

    def watch(self, campaign_id: str, on_halt: Callable[[str], None]) -> Callable[[], None]:
        """Call ``on_halt(state)`` when the campaign stops being active; returns the
        function that stops watching."""
        self._watchers.setdefault(campaign_id, set()).add(on_halt)
        state = self.state(campaign_id)
        if state != "active":
            on_halt(state)

        def unwatch() -> None:
            watchers = self._watchers.get(campaign_id)
            if watchers is not None:
                watchers.discard(on_halt)
                if not watchers:
                    del self._watchers[campaign_id]

        return unwatch

    def learn(self, campaign_id: str, state: str, version: int) -> None:
        known = self._states.get(campaign_id)
        if known is not None and known[1] >= version:
            return
        self._states[campaign_id] = (state, version)
        if state != "active":
            for on_halt in list(self._watchers.get(campaign_id, ())):
                on_halt(state)

    async def run(self) -> None:
        subscriptions = [
            await self.nc.subscribe(self.subjects.event(kind), cb=self._on_event)
            for kind in SENDING_STATE_AFTER
        ]
        try:
            while True:
                await asyncio.sleep(_POLL_SECONDS)
                try:
                    await self._poll()
                except Exception as error:
                    log.warning("halts.poll_failed", error=repr(error))
        finally:
            for subscription in subscriptions:
                await subscription.unsubscribe()

    async def _on_event(self, message: Msg) -> None:
        try:
            event = decode_event(message.data)
        except msgspec.DecodeError:
            return
        state = SENDING_STATE_AFTER.get(event.type) if event is not None else None
        if state is not None:
            self.learn(event.aggregate_id, state, event.aggregate_version)

    async def _poll(self) -> None:
        watched = list(self._watchers)
        if not watched:
            return
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT campaign_id, campaign_state, campaign_version FROM dispatcher.executions "
                "WHERE campaign_id = ANY(%s::uuid[])",
                (watched,),
            )
            for campaign_id, state, version in await cursor.fetchall():
                self.learn(str(campaign_id), state, version)
