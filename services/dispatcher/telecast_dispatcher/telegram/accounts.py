"""The Telegram accounts the dispatcher sends from, parsed from its settings. Pure: no I/O.

Bots come from ``TELEGRAM_BOT_TOKENS``, user accounts from ``TELEGRAM_SESSION_STRINGS``
(Pyrogram session strings). Each becomes a ``port.Account`` whose name reveals no secret:
``bot-<bot id>`` (the token's numeric prefix) or ``user-<user id>`` (decoded from the
session string). An error names the variable and the entry's position, never its value.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass, field

from telecast_dispatcher.telegram.port import Account

# Telegram's Bot API FAQ: about 30 messages per second in bulk per bot.
DEFAULT_BOT_RATE = 30.0
# Telegram publishes no figure for user accounts; sending faster than a person would gets
# an account limited as a spammer (PEER_FLOOD), so the default is deliberately slow.
DEFAULT_USER_RATE = 1.0

_BOT_TOKEN = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{30,}$")

# Pyrogram's session string layouts (pyrogram/storage/storage.py): the current one,
# dc_id, api_id, test_mode, auth_key, user_id, is_bot; and two older ones without the
# api_id, told apart from it by the string's length, as Pyrogram does.
_SESSION_FORMAT = ">BI?256sQ?"
_OLD_SESSION_FORMATS = {351: ">B?256sI?", 356: ">B?256sQ?"}


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """An account and what it takes to log in with it (secrets kept out of ``repr``)."""

    account: Account
    api_id: int | None
    api_hash: str | None = field(default=None, repr=False)
    bot_token: str | None = field(default=None, repr=False)
    session_string: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SessionIdentity:
    """What a session string says about its account (the auth key stays in the string)."""

    user_id: int
    is_bot: bool
    api_id: int | None


def bot_id(token: str) -> int:
    """The bot's id, the numeric prefix of its token; ``ValueError`` if it is no token."""
    match = _BOT_TOKEN.match(token)
    if match is None:
        raise ValueError("not a bot token (expected <bot id>:<secret>, as @BotFather gives it)")
    return int(match.group(1))


def session_identity(session_string: str) -> SessionIdentity:
    """Decode a Pyrogram session string; ``ValueError`` if it is not one."""
    padded = session_string + "=" * (-len(session_string) % 4)
    try:
        packed = base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("not a Pyrogram session string (not base64url)") from None
    old_format = _OLD_SESSION_FORMATS.get(len(session_string))
    try:
        if old_format is not None:
            _, _, _, user_id, is_bot = struct.unpack(old_format, packed)
            api_id = None
        else:
            _, api_id, _, _, user_id, is_bot = struct.unpack(_SESSION_FORMAT, packed)
    except struct.error:
        raise ValueError("not a Pyrogram session string (wrong length)") from None
    if not user_id:
        raise ValueError("the session string is not logged in (it carries no user id)")
    return SessionIdentity(user_id=user_id, is_bot=bool(is_bot), api_id=api_id or None)


def _entries(value: str | None) -> list[str]:
    return [entry.strip() for entry in (value or "").split(",") if entry.strip()]


def accounts_from_settings(
    api_id: int | None,
    api_hash: str | None,
    bot_tokens: str | None,
    session_strings: str | None,
    bot_rate: float = DEFAULT_BOT_RATE,
    user_rate: float = DEFAULT_USER_RATE,
) -> list[AccountConfig]:
    """The accounts of ``TELEGRAM_BOT_TOKENS`` then ``TELEGRAM_SESSION_STRINGS``
    (comma-separated), in order. ``ValueError`` names the variable and the entry's position
    (1-based) for a malformed entry, a missing ``TELEGRAM_API_ID``/``TELEGRAM_API_HASH``, a
    rate that is not positive, or the same account configured twice."""
    if bot_rate <= 0:
        raise ValueError("TELEGRAM_BOT_RATE must be a positive number of messages per second")
    if user_rate <= 0:
        raise ValueError("TELEGRAM_USER_RATE must be a positive number of messages per second")
    api_id = api_id or None
    if api_id is not None and api_id < 0:
        raise ValueError("TELEGRAM_API_ID must be the positive number my.telegram.org gives")
    api_hash = (api_hash or "").strip() or None
    if api_hash is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", api_hash):
        raise ValueError(
            "TELEGRAM_API_HASH must be the 32 hexadecimal digits my.telegram.org gives"
        )
    tokens, sessions = _entries(bot_tokens), _entries(session_strings)
    if tokens and (api_id is None or api_hash is None):
        raise ValueError(
            "TELEGRAM_BOT_TOKENS needs TELEGRAM_API_ID and TELEGRAM_API_HASH (from "
            "my.telegram.org): Pyrogram logs bots in over MTProto"
        )

    configs: list[AccountConfig] = []
    seen: dict[str, str] = {}

    def add(config: AccountConfig, where: str) -> None:
        name = config.account.name
        if name in seen:
            raise ValueError(f"{where} is {name}, already configured as {seen[name]}")
        seen[name] = where
        configs.append(config)

    for position, token in enumerate(tokens, start=1):
        where = f"TELEGRAM_BOT_TOKENS entry {position}"
        try:
            identity = bot_id(token)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        account = Account(name=f"bot-{identity}", is_bot=True, rate=bot_rate)
        add(AccountConfig(account, api_id, api_hash, bot_token=token), where)

    for position, session in enumerate(sessions, start=1):
        where = f"TELEGRAM_SESSION_STRINGS entry {position}"
        try:
            decoded = session_identity(session)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        session_api_id = decoded.api_id or api_id
        if session_api_id is None:
            raise ValueError(
                f"{where} is in Pyrogram's old format, which does not carry the api id: "
                "set TELEGRAM_API_ID"
            )
        # A bot's session string is a bot account all the same, with a bot's rate.
        if decoded.is_bot:
            account = Account(name=f"bot-{decoded.user_id}", is_bot=True, rate=bot_rate)
        else:
            account = Account(name=f"user-{decoded.user_id}", is_bot=False, rate=user_rate)
        add(AccountConfig(account, session_api_id, api_hash, session_string=session), where)
    return configs
