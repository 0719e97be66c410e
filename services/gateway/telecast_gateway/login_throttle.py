"""Logins that cannot be used to guess passwords or to flood the CPU.

- **Guessing.** Failed logins are counted per client address and per account (the email,
  ignoring case). Past a few free failures, each further attempt from that address or for
  that account must wait, twice as long each time (up to ``max_delay``); an attempt made
  before its time answers 429 with ``Retry-After`` without checking the password. A success
  clears the account's count; counts are forgotten after ``forget_after`` seconds without a
  failure. The counts live in each gateway replica's memory: with N replicas an attacker
  gets N times the attempts, still doubling in cost.
- **CPU.** argon2 is slow on purpose (tens of milliseconds of CPU a check): at most
  ``max_hashing`` checks run at once; a login beyond that answers 429 at once, so that a
  flood of logins cannot make real ones wait for seconds.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

_MAX_KEYS = 100_000


@dataclass
class _Failures:
    count: int
    last: float


class TooManyLogins(Exception):
    def __init__(self, retry_after: float, reason: str) -> None:
        super().__init__(reason)
        self.retry_after = max(1, math.ceil(retry_after))
        self.reason = reason


class LoginThrottle:
    def __init__(
        self,
        *,
        free_per_address: int = 20,
        free_per_account: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        forget_after: float = 900.0,
        max_hashing: int = 2,
    ) -> None:
        self.free = {"address": free_per_address, "account": free_per_account}
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self._failures: dict[tuple[str, str], _Failures] = {}
        self._hashing = asyncio.Semaphore(max_hashing)

    def _wait(self, kind: str, key: str, now: float) -> float:
        entry = self._failures.get((kind, key))
        if entry is None:
            return 0.0
        if now - entry.last > self.forget_after:
            del self._failures[(kind, key)]
            return 0.0
        over = entry.count - self.free[kind]
        if over < 0:
            return 0.0
        delay = min(self.max_delay, self.base_delay * 2**over)
        return max(0.0, entry.last + delay - now)

    def check(self, address: str, email: str) -> None:
        """Raise ``TooManyLogins`` if this address or account must wait."""
        now = time.monotonic()
        for kind, key in (("address", address), ("account", email.lower())):
            wait = self._wait(kind, key, now)
            if wait > 0:
                raise TooManyLogins(wait, f"too many failed logins for this {kind}: wait")

    def failed(self, address: str, email: str) -> None:
        now = time.monotonic()
        if len(self._failures) >= _MAX_KEYS:
            self._failures.clear()  # a flood of distinct keys: start counting afresh
        for key in (("address", address), ("account", email.lower())):
            entry = self._failures.setdefault(key, _Failures(0, now))
            entry.count += 1
            entry.last = now

    def succeeded(self, email: str) -> None:
        self._failures.pop(("account", email.lower()), None)

    @asynccontextmanager
    async def hashing(self) -> AsyncIterator[None]:
        """A place among the argon2 checks running now, or ``TooManyLogins`` at once."""
        if self._hashing.locked():
            raise TooManyLogins(1, "the server is checking too many logins at once: retry")
        async with self._hashing:
            yield
