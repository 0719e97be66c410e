"""The sending capacity the dispatcher reports for estimates, without any server."""

from __future__ import annotations

from telecast_dispatcher.sending.capacity import capacity
from telecast_dispatcher.telegram.port import Account

BOTS = [Account("bot-1", True, 30.0), Account("bot-2", True, 30.0), Account("user-3", False, 1.0)]


def test_the_rates_of_the_accounts_that_can_send_add_up() -> None:
    assert capacity(BOTS, set()).rate == 61.0
    retired = capacity(BOTS, {"bot-2"})
    assert (retired.accounts, retired.rate) == (2, 31.0)


def test_an_account_without_a_limit_leaves_the_rate_unknown() -> None:
    unlimited = capacity([*BOTS, Account("sim-bot-1", True, 0.0)], set())
    assert (unlimited.accounts, unlimited.rate) == (4, None)


def test_no_account_can_send() -> None:
    assert capacity(BOTS, {"bot-1", "bot-2", "user-3"}).rate == 0.0
