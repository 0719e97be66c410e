"""Guards and outcome codes (no I/O)."""

from __future__ import annotations

import pyrogram.errors

from telecast_dispatcher.sending.guards import GuardSettings, check
from telecast_dispatcher.sending.outcomes import Kind, classify

GUARDS = GuardSettings(max_error_rate=0.5, min_outcomes=100, cost_per_message=0.0)


def test_the_error_rate_trips_only_past_the_threshold_and_with_enough_outcomes() -> None:
    assert check(GUARDS, sent=10, guard_sent=10, guard_failed=80, budget=None) is None
    trip = check(GUARDS, sent=40, guard_sent=40, guard_failed=60, budget=None)
    assert trip is not None and trip.code == "ERROR_RATE"
    assert "60%" in trip.reason and "50%" in trip.reason
    assert check(GUARDS, sent=50, guard_sent=50, guard_failed=50, budget=None) is None


def test_an_error_rate_of_one_disables_the_guard() -> None:
    off = GuardSettings(max_error_rate=1.0, min_outcomes=1)
    assert check(off, sent=0, guard_sent=0, guard_failed=1000, budget=None) is None


def test_the_budget_trips_when_sent_messages_cost_it_all() -> None:
    priced = GuardSettings(cost_per_message=0.5)
    assert check(priced, sent=99, guard_sent=99, guard_failed=0, budget=50) is None
    trip = check(priced, sent=100, guard_sent=100, guard_failed=0, budget=50)
    assert trip is not None and trip.code == "BUDGET_EXHAUSTED"
    # Without a cost per message, or without a budget, there is nothing to exhaust.
    assert check(GUARDS, sent=10**6, guard_sent=10**6, guard_failed=0, budget=1) is None
    assert check(priced, sent=10**6, guard_sent=10**6, guard_failed=0, budget=None) is None


def test_telegram_error_ids_map_to_stable_codes() -> None:
    blocked = classify(pyrogram.errors.UserIsBlocked.ID)
    assert (blocked.code, blocked.message, blocked.kind) == (
        "USER_BLOCKED",
        "User has blocked the bot",
        Kind.PERMANENT,
    )
    assert classify(pyrogram.errors.FloodWait.ID).kind is Kind.FLOOD
    assert classify(pyrogram.errors.SlowmodeWait.ID).kind is Kind.CHAT_WAIT
    assert classify(pyrogram.errors.PeerFlood.ID).kind is Kind.ACCOUNT
    assert classify(pyrogram.errors.AuthKeyUnregistered.ID).kind is Kind.ACCOUNT
    assert classify(pyrogram.errors.RpcCallFail.ID).kind is Kind.RETRY
    assert classify(pyrogram.errors.Timeout.ID).kind is Kind.UNKNOWN


def test_unknown_errors_are_final_unless_telegram_says_it_is_its_own_trouble() -> None:
    unknown = classify("SOMETHING_NEW", 400)
    assert (unknown.code, unknown.kind) == ("SOMETHING_NEW", Kind.PERMANENT)
    assert classify("SOMETHING_ELSE", 500).kind is Kind.RETRY
    assert classify("FLOOD_SOMETHING_X", 420).kind is Kind.FLOOD
