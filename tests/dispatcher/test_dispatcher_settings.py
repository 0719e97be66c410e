"""Which Telegram the dispatcher sends through, from its environment (no I/O)."""

from __future__ import annotations

import pytest

from telecast_dispatcher.bootstrap import sending_settings, telegram_sender
from telecast_dispatcher.settings import DispatcherSettings
from telecast_dispatcher.telegram.pyrogram_adapter import PyrogramSender
from telecast_dispatcher.telegram.simulator_adapter import SimulatorSender
from telecast_libs.settings import SettingsError, load_settings

BASE = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
    "TELECAST_ENV": "development",
}
API_HASH = "0123456789abcdef0123456789abcdef"


def test_without_credentials_the_simulator_and_its_named_accounts() -> None:
    settings = load_settings(
        DispatcherSettings, {**BASE, "TELEGRAM_SIM_ACCOUNTS": "a, b", "TELEGRAM_BOT_RATE": "0"}
    )
    sender = telegram_sender(settings)
    assert isinstance(sender, SimulatorSender)
    assert [(a.name, a.rate) for a in sender.accounts] == [("a", 0.0), ("b", 0.0)]


def test_with_credentials_pyrogram_with_an_account_per_token() -> None:
    env = {
        **BASE,
        "TELEGRAM_API_ID": "12345",
        "TELEGRAM_API_HASH": API_HASH,
        "TELEGRAM_BOT_TOKENS": "111:" + "a" * 35,
    }
    sender = telegram_sender(load_settings(DispatcherSettings, env))
    assert isinstance(sender, PyrogramSender)
    assert [(a.name, a.rate) for a in sender.accounts] == [("bot-111", 30.0)]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TELEGRAM_API_ID": "1", "TELEGRAM_BOT_TOKENS": "not-a-token"}, "TELEGRAM_"),
        ({"TELEGRAM_SIM_ACCOUNTS": " , "}, "TELEGRAM_SIM_ACCOUNTS"),
        ({"SEND_ITEM_SIZE": "9000"}, "SEND_ITEM_SIZE"),
        ({"GUARD_MAX_ERROR_RATE": "0"}, "GUARD_MAX_ERROR_RATE"),
        ({"TELEGRAM_BOT_RATE": "-1"}, "TELEGRAM_BOT_RATE"),
        ({"SEND_MAX_ITEMS": "0"}, "SEND_MAX_ITEMS"),
    ],
)
def test_a_bad_setting_stops_the_service_naming_it(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(DispatcherSettings, {**BASE, **env})


def test_the_limits_and_guards_come_from_the_environment() -> None:
    env = {
        **BASE,
        "SEND_PRIVATE_CHAT_RATE": "2",
        "SEND_GROUP_PER_MINUTE": "10",
        "GUARD_MAX_ERROR_RATE": "0.3",
        "MESSAGE_COST": "0.05",
    }
    sending = sending_settings(load_settings(DispatcherSettings, env))
    assert (sending.limits.private_chat_rate, sending.limits.group_per_minute) == (2, 10)
    assert (sending.guards.max_error_rate, sending.guards.cost_per_message) == (0.3, 0.05)
