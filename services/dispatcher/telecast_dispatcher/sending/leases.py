"""Which replica drives which sending account: leases in a JetStream key-value bucket.

An account is driven by one replica at a time, so that its limits (and Telegram's view of
it) are kept in one place. A lease is a key (the account's name) whose value is the
replica's id; the bucket's TTL removes a key that is not renewed, so a replica that died
gives its accounts up after ``ttl`` seconds. Each replica renews its leases every ``ttl/3``
and stops sending from an account as soon as its lease is older than ``ttl/2`` without a
renewal (before anyone else could take it). Replicas announce themselves in the same bucket
(``replica.<id>``) and take no more than their fair share of the accounts, so that a second
replica gets accounts of its own and more replicas with more accounts send faster.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyValueError, NoKeysError
from nats.js.kv import KeyValue

from telecast_dispatcher.sending import metrics
from telecast_libs.log import get_logger

log = get_logger(__name__)

_REPLICA_PREFIX = "replica."


class Leases:
    def __init__(
        self,
        js: JetStreamContext,
        bucket: str,
        accounts: list[str],
        replica_id: str,
        ttl: float,
        acquire: Callable[[str], Awaitable[bool]],
        release: Callable[[str], Awaitable[None]],
        retired: Callable[[], Awaitable[set[str]]],
    ) -> None:
        self.js = js
        self.bucket = bucket
        self.accounts = accounts
        self.replica_id = replica_id
        self.ttl = ttl
        self._acquire = acquire
        self._release = release
        self._retired = retired
        self._revisions: dict[str, int] = {}
        self._renewed: dict[str, float] = {}
        self._kv: KeyValue | None = None

    def held(self) -> list[str]:
        return list(self._revisions)

    def valid(self, account: str) -> bool:
        renewed = self._renewed.get(account)
        return renewed is not None and time.monotonic() - renewed < self.ttl / 2

    async def bucket_kv(self) -> KeyValue:
        if self._kv is None:
            try:
                kv = await self.js.key_value(self.bucket)
                status = await kv.status()
                if status.ttl != self.ttl:
                    # Made with another TTL (an older default, another setting): the
                    # bucket's stream takes the new one, or a dead replica's accounts
                    # would wait for the old.
                    config = status.stream_info.config
                    config.max_age = self.ttl
                    config.duplicate_window = min(config.duplicate_window or self.ttl, self.ttl)
                    await self.js.update_stream(config)
                self._kv = kv
            except BucketNotFoundError:
                self._kv = await self.js.create_key_value(
                    KeyValueConfig(
                        bucket=self.bucket,
                        ttl=self.ttl,
                        history=1,
                        storage=StorageType.FILE,
                        description="Dispatcher replicas' leases on sending accounts",
                    )
                )
        return self._kv

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("leases.tick_failed", error=repr(error))
            await asyncio.sleep(self.ttl / 3)

    async def tick(self) -> None:
        kv = await self.bucket_kv()
        # Renewals first, each within a deadline: nothing else (PostgreSQL away, a slow
        # NATS request) may hold them up past ttl/2, when sending from the account stops.
        await self._renew(kv)
        await asyncio.wait_for(
            kv.put(f"{_REPLICA_PREFIX}{self.replica_id}", b"alive"), self._deadline
        )
        try:
            retired = await asyncio.wait_for(self._retired(), self._deadline)
        except Exception as error:
            # PostgreSQL away: keep sending from what is held, take nothing new.
            log.warning("leases.retired_unknown", error=repr(error))
            return
        for account in self.held():
            if account in retired:
                await self.give_up(account)
        fair = math.ceil(len(self.accounts) / max(1, await self._replicas(kv)))
        for account in self.held()[fair:]:
            await self.give_up(account)  # a newer replica gets its share
        for account in self.accounts:
            if len(self._revisions) >= fair:
                break
            if account in self._revisions or account in retired:
                continue
            try:
                revision = await kv.create(account, self.replica_id.encode())
            except KeyValueError:
                continue  # another replica holds it
            self._revisions[account] = revision
            self._renewed[account] = time.monotonic()
            log.info("lease.acquired", account=account, replica=self.replica_id)
            if not await self._acquire(account):
                await self.give_up(account)
        for account in self.accounts:
            if account not in self._revisions and account not in retired:
                metrics.set_account_state(account, "standby")

    @property
    def _deadline(self) -> float:
        return self.ttl / 4

    async def _renew(self, kv: KeyValue) -> None:
        for account in self.held():
            try:
                self._revisions[account] = await asyncio.wait_for(
                    kv.update(account, self.replica_id.encode(), last=self._revisions[account]),
                    self._deadline,
                )
                self._renewed[account] = time.monotonic()
            except TimeoutError:
                # Unknown whether it took: the next tick tries again (a renewal that did
                # take makes that one fail on its revision, and the lease is taken afresh).
                log.warning("lease.renewal_late", account=account)
            except KeyValueError as error:
                log.error("lease.lost", account=account, error=repr(error))
                await self._lose(account)

    async def _replicas(self, kv: KeyValue) -> int:
        try:
            keys = await kv.keys()
        except NoKeysError:
            return 1
        return sum(1 for key in keys if key.startswith(_REPLICA_PREFIX))

    async def _lose(self, account: str) -> None:
        self._revisions.pop(account, None)
        self._renewed.pop(account, None)
        await self._release(account)

    async def give_up(self, account: str) -> None:
        """Stop driving the account (its sends under way finish), then free the lease."""
        revision = self._revisions.pop(account, None)
        self._renewed.pop(account, None)
        await self._release(account)
        if revision is not None:
            try:
                kv = await self.bucket_kv()
                await kv.delete(account, last=revision)
            except KeyValueError as error:
                log.warning("lease.release_failed", account=account, error=repr(error))
        log.info("lease.released", account=account, replica=self.replica_id)

    async def give_up_all(self) -> None:
        for account in self.held():
            await self.give_up(account)
        try:
            kv = await self.bucket_kv()
            await kv.delete(f"{_REPLICA_PREFIX}{self.replica_id}")
        except Exception as error:
            log.warning("leases.goodbye_failed", error=repr(error))
