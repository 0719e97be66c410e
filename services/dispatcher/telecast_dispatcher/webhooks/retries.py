"""When to retry a delivery, when to give it up, and when to disable a subscription.

Pure functions of values (no I/O), so that the schedule is tested without a clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

# An answer 429 or 503 may say how long to wait; it is obeyed up to the longest delay.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def succeeded(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` of delay-seconds (the HTTP-date form is rare for webhooks)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: retry n waits ``base * factor^(n-1)`` (at most
    ``max_delay``), scaled by a random factor in ``[1 - jitter, 1 + jitter]``."""

    base: float
    factor: float
    max_delay: float
    jitter: float
    max_attempts: int
    window: float

    def delay(self, failed_attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the ``failed_attempts``-th failure in a row."""
        exponent = max(0, failed_attempts - 1)
        nominal = self.max_delay
        # Far enough out the delay is the cap anyway; a huge power would overflow a float.
        if exponent < 64:
            nominal = min(self.max_delay, self.base * self.factor**exponent)
        spread = 1 - self.jitter + 2 * self.jitter * rand()
        return max(0.0, nominal * spread)

    def next_attempt(
        self,
        failed_attempts: int,
        round_started: datetime,
        now: datetime,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> datetime | None:
        """When to try again after a failure, or None to give up.

        ``failed_attempts`` counts the attempts of this round (since the delivery was
        created or redelivered), the one that just failed included.
        """
        if failed_attempts >= self.max_attempts:
            return None
        wait = self.delay(failed_attempts, rand)
        if retry_after is not None:
            wait = min(max(wait, retry_after), self.max_delay)
        when = now + timedelta(seconds=wait)
        if when - round_started > timedelta(seconds=self.window):
            return None
        return when

    def schedule(self) -> list[float]:
        """The nominal delays (no jitter) between attempts, up to the window: for docs."""
        delays: list[float] = []
        elapsed = 0.0
        for attempt in range(1, self.max_attempts):
            wait = min(self.max_delay, self.base * self.factor ** (attempt - 1))
            if elapsed + wait > self.window:
                break
            delays.append(wait)
            elapsed += wait
        return delays


@dataclass(frozen=True)
class DisablePolicy:
    """A subscription that keeps failing is disabled: ``failures`` failed attempts in a
    row, the first at least ``span`` seconds before the last."""

    failures: int
    span: float

    def reason(
        self,
        consecutive_failures: int,
        failing_since: datetime | None,
        now: datetime,
        last_error: str | None,
        gone: bool = False,
    ) -> str | None:
        """Why to disable the subscription now, or None to keep it."""
        cause = f" (last: {last_error})" if last_error else ""
        if gone:
            return "the receiver answered 410 Gone: it asked for no more deliveries"
        if failing_since is None or consecutive_failures < self.failures:
            return None
        if now - failing_since < timedelta(seconds=self.span):
            return None
        return (
            f"disabled after {consecutive_failures} failed attempts in a row since "
            f"{failing_since.isoformat(timespec='seconds')}{cause}"
        )
