"""The retry schedule, giving up, and disabling: pure rules, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telecast_dispatcher.webhooks.retries import (
    DisablePolicy,
    RetryPolicy,
    retry_after_seconds,
    succeeded,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT = RetryPolicy(
    base=10, factor=3, max_delay=6 * 3600, jitter=0.2, max_attempts=12, window=24 * 3600
)


def middle() -> float:
    return 0.5


def test_default_schedule_backs_off_exponentially_up_to_six_hours_within_a_day() -> None:
    assert DEFAULT.schedule() == [10, 30, 90, 270, 810, 2430, 7290, 21600, 21600, 21600]
    # Jitter off (the middle of the range): the nominal delay.
    assert [DEFAULT.delay(n, middle) for n in (1, 2, 3, 8, 50, 10_000)] == [
        10,
        30,
        90,
        21600,
        21600,
        21600,
    ]


@pytest.mark.parametrize("rand", [0.0, 0.999999])
def test_jitter_stays_within_its_fraction(rand: float) -> None:
    delay = DEFAULT.delay(3, lambda: rand)
    assert 90 * 0.8 <= delay <= 90 * 1.2


def test_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(base=1, factor=2, max_delay=10, jitter=0, max_attempts=3, window=3600)
    assert policy.next_attempt(1, T0, T0, rand=middle) == T0 + timedelta(seconds=1)
    assert policy.next_attempt(2, T0, T0, rand=middle) == T0 + timedelta(seconds=2)
    assert policy.next_attempt(3, T0, T0, rand=middle) is None


def test_gives_up_when_the_retry_would_fall_outside_the_window() -> None:
    policy = RetryPolicy(base=60, factor=1, max_delay=60, jitter=0, max_attempts=99, window=600)
    now = T0 + timedelta(seconds=530)
    assert policy.next_attempt(5, T0, now, rand=middle) == now + timedelta(seconds=60)
    assert policy.next_attempt(6, T0, T0 + timedelta(seconds=541), rand=middle) is None


def test_retry_after_is_obeyed_up_to_the_longest_delay() -> None:
    policy = RetryPolicy(base=1, factor=2, max_delay=120, jitter=0, max_attempts=9, window=9999)
    assert policy.next_attempt(1, T0, T0, retry_after=30, rand=middle) == T0 + timedelta(seconds=30)
    assert policy.next_attempt(1, T0, T0, retry_after=9999, rand=middle) == T0 + timedelta(
        seconds=120
    )
    assert retry_after_seconds(" 30 ") == 30
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after_seconds("-5") is None
    assert retry_after_seconds(None) is None


def test_only_2xx_is_success() -> None:
    assert [succeeded(s) for s in (200, 204, 299)] == [True] * 3
    assert [succeeded(s) for s in (None, 199, 301, 404, 410, 500)] == [False] * 6


def test_disabled_after_enough_failures_over_enough_time() -> None:
    policy = DisablePolicy(failures=10, span=3600)
    later = T0 + timedelta(hours=2)
    assert policy.reason(9, T0, later, "HTTP 500") is None
    assert policy.reason(10, T0, T0 + timedelta(minutes=59), "HTTP 500") is None
    assert policy.reason(10, None, later, "HTTP 500") is None
    reason = policy.reason(10, T0, later, "HTTP 500")
    assert reason is not None
    assert "10 failed attempts in a row" in reason and "HTTP 500" in reason
    gone = policy.reason(1, T0, T0, "HTTP 410", gone=True)
    assert gone is not None and "410" in gone
