"""The ``TelegramSender`` port: what the dispatcher needs of Telegram, and nothing more.

Two adapters implement it: ``pyrogram_adapter`` (real Telegram, when credentials are
configured) and ``simulator_adapter`` (the Telegram simulator, the default). A failed send
raises ``SendError`` carrying an ``outcomes.Outcome`` (a stable code, its message and what
the dispatcher must do about it) and, for waits, the seconds Telegram asked for.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from telecast_dispatcher.sending.outcomes import Outcome


class ChatKind(enum.StrEnum):
    """Telegram's limits differ by the kind of chat: 1 message/s to a private chat, 20/min
    to a group; a channel counts as a group."""

    PRIVATE = "private"
    GROUP = "group"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class Target:
    chat_id: int
    kind: ChatKind


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A rendered message. ``buttons`` rows of ``{"text", "url"}`` or ``{"text",
    "callbackData"}``; ``media`` ``{"type": "photo" | "video" | "document", "url"}``.
    ``reference`` ("<execution>:<contact>:<message>") names the delivery in logs and in the
    simulator's record; Telegram never sees it."""

    text: str
    parse_mode: str | None = None
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)
    media: dict[str, Any] | None = None
    reference: str = ""
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """Telegram took the message: its id in the chat and Telegram's time for it."""

    message_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Receipt:
    """Something a recipient did with a message we sent, as the sender reports it:
    ``kind`` "read" (read receipts, where the account can see them) or "click"."""

    account: str
    chat_id: int
    message_id: int
    kind: str
    at: datetime
    url: str | None = None


class SendError(Exception):
    """A send that Telegram (or the way to it) refused; ``seconds`` is the wait asked for
    by a FloodWait or a slow mode."""

    def __init__(self, outcome: Outcome, seconds: float | None = None, detail: str = "") -> None:
        super().__init__(f"{outcome.code}: {detail or outcome.message}")
        self.outcome = outcome
        self.seconds = seconds
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Account:
    """A sending account: a name unique among the configured accounts (used for its lease
    and in metrics), whether it is a bot, and its global send rate (messages per second)."""

    name: str
    is_bot: bool
    rate: float


class TelegramSender(Protocol):
    """One instance per dispatcher process, for all of its accounts.

    ``open(account)`` is called when this replica takes the account's lease and before any
    send from it; ``close(account)`` when it gives the lease up. An account is driven by one
    replica at a time, so an adapter may keep one client session per open account."""

    accounts: list[Account]

    async def open(self, account: str) -> None: ...

    async def close(self, account: str) -> None: ...

    async def send(self, account: str, target: Target, message: OutgoingMessage) -> Accepted:
        """Send one message; raise ``SendError`` if Telegram refuses it."""
        ...

    async def create_invite_link(
        self,
        account: str,
        chat_id: int,
        *,
        name: str | None = None,
        expire_date: datetime | None = None,
        member_limit: int | None = None,
        creates_join_request: bool = False,
    ) -> str:
        """A new invite link to ``chat_id`` (the account must be an admin there)."""
        ...

    def on_receipt(self, handler: Callable[[Receipt], None]) -> None:
        """Call ``handler`` for every read or click the sender learns of."""
        ...

    async def shutdown(self) -> None: ...
