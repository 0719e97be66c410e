"""Sending accounts from settings: names that reveal no secret, and errors that name the
variable and the entry without echoing it."""

from __future__ import annotations

import base64
import struct

import pytest

from telecast_dispatcher.telegram.accounts import (
    accounts_from_settings,
    bot_id,
    session_identity,
)

API_HASH = "0123456789abcdef0123456789abcdef"
TOKEN_A = "123456:AAE" + "a" * 32
TOKEN_B = "987654321:BBF" + "b-_" * 11


def session_string(user_id: int, is_bot: bool = False, old: bool = False) -> str:
    if old:
        packed = struct.pack(">B?256sQ?", 2, False, b"k" * 256, user_id, is_bot)
    else:
        packed = struct.pack(">BI?256sQ?", 2, 12345, False, b"k" * 256, user_id, is_bot)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def test_bots_and_users_are_named_by_their_ids() -> None:
    configs = accounts_from_settings(
        1, API_HASH, f"{TOKEN_A}, {TOKEN_B}", session_string(555), bot_rate=25, user_rate=0.5
    )
    assert [(c.account.name, c.account.is_bot, c.account.rate) for c in configs] == [
        ("bot-123456", True, 25),
        ("bot-987654321", True, 25),
        ("user-555", False, 0.5),
    ]
    assert configs[0].bot_token == TOKEN_A
    assert configs[2].session_string == session_string(555)
    assert configs[2].api_id == 12345  # the session string's own api id
    for config in configs:
        assert TOKEN_A not in repr(config) and API_HASH not in repr(config)


def test_defaults_and_nothing_configured() -> None:
    assert accounts_from_settings(None, None, "", "") == []
    [config] = accounts_from_settings(None, None, "", session_string(9))
    assert config.account.rate == 1.0
    [config] = accounts_from_settings(7, API_HASH, TOKEN_A, None)
    assert config.account.rate == 30.0


def test_session_strings_decode_as_pyrogram_writes_them() -> None:
    assert session_identity(session_string(2**40)).user_id == 2**40
    old = session_identity(session_string(77, old=True))
    assert (old.user_id, old.api_id) == (77, None)
    assert session_identity(session_string(5, is_bot=True)).is_bot


def test_a_bot_session_string_is_a_bot_account() -> None:
    [config] = accounts_from_settings(None, None, "", session_string(31, is_bot=True))
    assert (config.account.name, config.account.is_bot) == ("bot-31", True)


def test_the_bot_id_is_the_token_prefix() -> None:
    assert bot_id(TOKEN_B) == 987654321


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((1, API_HASH, "nonsense", ""), "TELEGRAM_BOT_TOKENS entry 1: not a bot token"),
        ((1, API_HASH, f"{TOKEN_A},123:short", ""), "TELEGRAM_BOT_TOKENS entry 2: not a bot"),
        ((1, None, TOKEN_A, ""), "TELEGRAM_BOT_TOKENS needs TELEGRAM_API_ID and TELEGRAM_API_HASH"),
        ((None, API_HASH, TOKEN_A, ""), "needs TELEGRAM_API_ID"),
        ((1, "xyz", "", ""), "TELEGRAM_API_HASH must be"),
        ((1, API_HASH, "", "not-a-session!"), "TELEGRAM_SESSION_STRINGS entry 1: not a Pyrogram"),
        ((1, API_HASH, "", "QUJD"), "TELEGRAM_SESSION_STRINGS entry 1: not a Pyrogram"),
        ((None, None, "", session_string(77, old=True)), "set TELEGRAM_API_ID"),
        ((1, API_HASH, f"{TOKEN_A},{TOKEN_A}", ""), "entry 2 is bot-123456, already configured"),
        ((None, None, "", f"{session_string(8)},{session_string(8)}"), "already configured"),
        ((None, None, "", session_string(0)), "not logged in"),
    ],
)
def test_malformed_settings_are_refused_without_echoing_secrets(
    arguments: tuple, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        accounts_from_settings(*arguments)
    text = str(raised.value)
    for secret in (TOKEN_A.split(":")[1], "nonsense", "not-a-session!", session_string(8)):
        assert secret not in text


@pytest.mark.parametrize("rates", [(0, 1), (30, -1)])
def test_rates_must_be_positive(rates: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="RATE must be a positive"):
        accounts_from_settings(1, API_HASH, TOKEN_A, "", *rates)
