"""Telegram's limits as the dispatcher keeps them (no I/O: the clock is simulated).

The windows must never let Telegram see more than the limit in any window of its own
accept times, whatever the latency there and back; and they should come close to the limit.
"""

from __future__ import annotations

import heapq
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telecast_dispatcher.sending.limits import AccountLimits, LimitSettings, Window
from telecast_dispatcher.telegram.port import ChatKind


def drive(window: Window, sends: int, latency: random.Random, max_leg: float) -> list[float]:
    """Start sends as soon as the window allows; each is accepted by "Telegram" some time
    after it starts and answered some time after that. Returns the accept times."""
    now = 0.0
    accepts: list[float] = []
    answers: list[float] = []  # heap of pending answer times
    started = 0
    while started < sends or answers:
        free = window.free_at(now) if started < sends else math.inf
        if free <= now:
            accept = now + latency.uniform(0, max_leg)
            accepts.append(accept)
            heapq.heappush(answers, accept + latency.uniform(0, max_leg))
            window.start()
            started += 1
            continue
        # Nothing may start now: move to the next answer or the next free slot.
        now = min(free, answers[0]) if answers else free
        while answers and answers[0] <= now:
            heapq.heappop(answers)
            window.answered(now)
    return sorted(accepts)


def worst_window(accepts: list[float], limit: int, seconds: float) -> float:
    """The shortest span holding limit + 1 accepts (over the limit if < seconds)."""
    spans = [accepts[i + limit] - accepts[i] for i in range(len(accepts) - limit)]
    return min(spans) if spans else math.inf


@settings(deadline=None, max_examples=60)
@given(
    limit=st.integers(min_value=1, max_value=40),
    seconds=st.sampled_from([1.0, 60.0]),
    max_leg=st.floats(min_value=0.0, max_value=0.3),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_no_window_of_accept_times_holds_more_than_the_limit(
    limit: int, seconds: float, max_leg: float, seed: int
) -> None:
    accepts = drive(Window(limit, seconds), limit * 4, random.Random(seed), max_leg)
    # Within a nanosecond: the simulated clock's sums round in the last bit (hypothesis found
    # a span of 0.9999999999999998 s for max_leg = 2.2e-16), which no clock of Telegram's sees.
    assert worst_window(accepts, limit, seconds) >= seconds - 1e-9


def test_the_window_comes_close_to_the_limit_when_the_round_trip_is_short() -> None:
    window = Window.per_second(30)
    accepts = drive(window, 30 * 60, random.Random(7), max_leg=0.002)
    achieved = len(accepts) / (accepts[-1] - accepts[0] + 1.0)
    assert achieved / 30 > 0.99


def test_rates_below_one_per_second_space_single_sends() -> None:
    window = Window.per_second(0.5)
    assert (window.limit, window.seconds) == (1, 2.0)
    window.start()
    assert window.free_at(0.0) == math.inf  # held until its answer
    window.answered(1.0)
    assert window.free_at(1.5) == 3.0
    assert window.free_at(3.0) == 3.0


def test_a_flood_wait_holds_the_account_for_exactly_the_seconds_asked() -> None:
    limits = AccountLimits(LimitSettings(account_rate=0))
    limits.flood_wait(7, now=100.0)
    assert limits.account_free_at(100.0) == 107.0
    assert limits.account_free_at(107.0) == 107.0


def test_private_chats_get_one_message_a_second_and_groups_twenty_a_minute() -> None:
    limits = AccountLimits(LimitSettings(account_rate=0))
    limits.start(1, ChatKind.PRIVATE)
    limits.answered(1, 10.0)
    assert limits.chat_free_at(1, ChatKind.PRIVATE, 10.5) == 11.0
    assert limits.chat_free_at(2, ChatKind.PRIVATE, 10.5) == 10.5  # another chat is free
    for _ in range(20):
        limits.start(-5, ChatKind.GROUP)
        limits.answered(-5, 20.0)
    assert limits.chat_free_at(-5, ChatKind.GROUP, 30.0) == 80.0


def test_a_slow_mode_wait_holds_only_that_chat() -> None:
    limits = AccountLimits(LimitSettings(account_rate=0))
    limits.chat_wait(-9, 30, now=0.0)
    assert limits.chat_free_at(-9, ChatKind.GROUP, 1.0) == 30.0
    assert limits.chat_free_at(-8, ChatKind.GROUP, 1.0) == 1.0


def test_an_unlimited_account_still_bounds_its_sends_under_way() -> None:
    limits = AccountLimits(LimitSettings(account_rate=0), max_in_flight=2)
    limits.start(1, ChatKind.PRIVATE)
    limits.start(2, ChatKind.PRIVATE)
    assert limits.account_free_at(0.0) == math.inf
    limits.answered(1, 0.1)
    assert limits.account_free_at(0.1) == 0.1


def test_idle_chats_are_forgotten() -> None:
    limits = AccountLimits(LimitSettings())
    for chat in range(1000):
        limits.start(chat, ChatKind.PRIVATE)
        limits.answered(chat, 0.0)
    limits.forget_idle(5.0)
    assert limits.chats == {}


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_no_account_window_when_the_rate_is_not_positive(rate: float) -> None:
    assert LimitSettings(account_rate=rate).account_window() is None
