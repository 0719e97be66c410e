"""What a send's answer means: Telegram's error ids mapped to stable outcome codes.

Both sender adapters (Pyrogram and the simulator) report Telegram's own error id
(``USER_IS_BLOCKED``, ``FLOOD_WAIT_X``, …); this table is the one place that says what each
means for the dispatcher. Pure: no I/O.

- ``PERMANENT``: the recipient cannot receive the message; the outcome is final (failed).
- ``RETRY``: Telegram did not take the message and says so; safe to try again later.
- ``UNKNOWN``: the request may or may not have been carried out (a timeout after it left);
  sending again could deliver twice, so the outcome is ``DELIVERY_UNCONFIRMED``.
- ``FLOOD``: the account must wait ``seconds`` before its next send; nothing was sent.
- ``CHAT_WAIT``: this chat must wait (a group's slow mode); nothing was sent.
- ``ACCOUNT``: our sending account cannot send any more (limited as a spammer, banned,
  logged out); nothing was sent and the account leaves the rotation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.StrEnum):
    PERMANENT = "permanent"
    RETRY = "retry"
    UNKNOWN = "unknown"
    FLOOD = "flood"
    CHAT_WAIT = "chat_wait"
    ACCOUNT = "account"


@dataclass(frozen=True)
class Outcome:
    code: str
    message: str
    kind: Kind


# Outcomes the dispatcher itself decides (no Telegram answer behind them).
DELIVERY_UNCONFIRMED = Outcome(
    "DELIVERY_UNCONFIRMED",
    "The send's outcome was lost in a crash; it is not sent again",
    Kind.UNKNOWN,
)
RENDER_FAILED = Outcome("RENDER_FAILED", "The message could not be rendered", Kind.PERMANENT)
TRANSIENT_ERROR = Outcome("TRANSIENT_ERROR", "Telegram could not take the message", Kind.RETRY)
NETWORK_ERROR = Outcome("NETWORK_ERROR", "Telegram could not be reached", Kind.RETRY)
TIMEOUT = Outcome(
    "SEND_TIMEOUT", "No answer from Telegram; the message may have been sent", Kind.UNKNOWN
)

# Telegram error id -> outcome. Ids ending in _X carry a number (seconds to wait).
_BY_TELEGRAM_ID: dict[str, Outcome] = {
    # The recipient's side: final.
    "USER_IS_BLOCKED": Outcome("USER_BLOCKED", "User has blocked the bot", Kind.PERMANENT),
    "INPUT_USER_DEACTIVATED": Outcome(
        "USER_DEACTIVATED", "The user's account has been deleted", Kind.PERMANENT
    ),
    "PEER_ID_INVALID": Outcome(
        "PEER_INVALID", "The recipient is unknown to this account", Kind.PERMANENT
    ),
    "CHAT_ID_INVALID": Outcome("PEER_INVALID", "The chat is unknown", Kind.PERMANENT),
    "CHANNEL_INVALID": Outcome("PEER_INVALID", "The channel is unknown", Kind.PERMANENT),
    "CHAT_WRITE_FORBIDDEN": Outcome(
        "CHAT_WRITE_FORBIDDEN", "The account may not write in this chat", Kind.PERMANENT
    ),
    "CHAT_SEND_MEDIA_FORBIDDEN": Outcome(
        "CHAT_SEND_MEDIA_FORBIDDEN", "The account may not send media in this chat", Kind.PERMANENT
    ),
    "CHAT_RESTRICTED": Outcome(
        "CHAT_WRITE_FORBIDDEN", "The chat is restricted for this account", Kind.PERMANENT
    ),
    "CHAT_ADMIN_REQUIRED": Outcome(
        "CHAT_ADMIN_REQUIRED", "The account must be an admin of the chat", Kind.PERMANENT
    ),
    "CHANNEL_PRIVATE": Outcome(
        "CHANNEL_PRIVATE", "The channel is private or the account was removed", Kind.PERMANENT
    ),
    "USER_BANNED_IN_CHANNEL": Outcome(
        "USER_BANNED_IN_CHANNEL", "The account is banned from sending here", Kind.PERMANENT
    ),
    "USER_KICKED": Outcome("USER_KICKED", "The account was removed from the chat", Kind.PERMANENT),
    "USER_PRIVACY_RESTRICTED": Outcome(
        "USER_PRIVACY_RESTRICTED", "The user's privacy settings forbid this", Kind.PERMANENT
    ),
    "USER_NOT_MUTUAL_CONTACT": Outcome(
        "USER_NOT_MUTUAL_CONTACT", "The user is not a mutual contact", Kind.PERMANENT
    ),
    "USER_IS_BOT": Outcome("USER_IS_BOT", "Bots cannot message other bots", Kind.PERMANENT),
    "MESSAGE_TOO_LONG": Outcome(
        "MESSAGE_TOO_LONG", "The message is longer than 4,096 characters", Kind.PERMANENT
    ),
    "MEDIA_CAPTION_TOO_LONG": Outcome(
        "MESSAGE_TOO_LONG", "The caption is longer than 1,024 characters", Kind.PERMANENT
    ),
    "MESSAGE_EMPTY": Outcome("MESSAGE_EMPTY", "The message is empty", Kind.PERMANENT),
    "BUTTON_URL_INVALID": Outcome(
        "BUTTON_URL_INVALID", "A button's URL is not valid", Kind.PERMANENT
    ),
    "ENTITY_BOUNDS_INVALID": Outcome(
        "MARKUP_INVALID", "Telegram refused the message's markup", Kind.PERMANENT
    ),
    # Waits: nothing was sent.
    "FLOOD_WAIT_X": Outcome("FLOOD_WAIT", "Telegram asked the account to wait", Kind.FLOOD),
    "FLOOD_PREMIUM_WAIT_X": Outcome("FLOOD_WAIT", "Telegram asked the account to wait", Kind.FLOOD),
    "SLOWMODE_WAIT_X": Outcome(
        "SLOWMODE_WAIT", "The chat's slow mode asks to wait", Kind.CHAT_WAIT
    ),
    # Our account cannot send any more.
    "PEER_FLOOD": Outcome(
        "PEER_FLOOD", "The account is limited by Telegram as a spammer", Kind.ACCOUNT
    ),
    "USER_DEACTIVATED": Outcome("ACCOUNT_DEACTIVATED", "The account was deleted", Kind.ACCOUNT),
    "USER_DEACTIVATED_BAN": Outcome("ACCOUNT_BANNED", "The account was banned", Kind.ACCOUNT),
    "AUTH_KEY_UNREGISTERED": Outcome(
        "ACCOUNT_LOGGED_OUT", "The account's session is no longer valid", Kind.ACCOUNT
    ),
    "SESSION_REVOKED": Outcome(
        "ACCOUNT_LOGGED_OUT", "The account's session was revoked", Kind.ACCOUNT
    ),
    "ACCESS_TOKEN_INVALID": Outcome(
        "ACCOUNT_LOGGED_OUT", "The bot token is not valid", Kind.ACCOUNT
    ),
    # Telegram's own trouble: it did not take the message.
    "RPC_CALL_FAIL": TRANSIENT_ERROR,
    "INTERNAL_SERVER_ERROR": TRANSIENT_ERROR,
    "RPC_MCGET_FAIL": TRANSIENT_ERROR,
    "MSG_WAIT_FAILED": TRANSIENT_ERROR,
    # Telegram's -503 "Timeout": the call may or may not have been carried out.
    "TIMEOUT": TIMEOUT,
}


def classify(telegram_id: str | None, status: int | None = None) -> Outcome:
    """The outcome of a Telegram error id (``status`` is the RPC error code, used when the
    id is unknown: 5xx is Telegram's trouble, anything else is final for the recipient)."""
    if telegram_id is not None:
        known = _BY_TELEGRAM_ID.get(telegram_id)
        if known is not None:
            return known
    if status is not None and status >= 500:
        return TRANSIENT_ERROR
    if status == 420:
        return _BY_TELEGRAM_ID["FLOOD_WAIT_X"]
    code = telegram_id or "TELEGRAM_ERROR"
    return Outcome(code, f"Telegram refused the message ({code})", Kind.PERMANENT)
