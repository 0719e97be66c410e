"""The ``TelegramSender`` port on real Telegram, through Pyrogram (the kurigram build).

One ``pyrogram.Client`` per open account, in memory, with ``sleep_threshold=0``: Pyrogram
never sleeps through a FloodWait, every wait reaches the dispatcher as a ``SendError``.
Every Telegram error becomes a ``SendError`` with the outcome ``outcomes.classify`` gives.

A send is attempted at most once. Pyrogram's own ``Session.invoke`` repeats a request after
a timeout or a dropped connection (up to ten times), which could deliver a message twice;
the requests that send something (``_AT_MOST_ONCE``) bypass it, so that a request that never
left is ``NETWORK_ERROR`` (safe to retry) and one that left without an answer is
``SEND_TIMEOUT`` (outcome unknown, never repeated).

Read receipts: user accounts receive updates and report ``UpdateReadHistoryOutbox`` /
``UpdateReadChannelOutbox`` as "read" receipts for every message up to ``max_id``; bots
cannot see reads and run without updates. Clicks are not reported.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import pyrogram
from pyrogram import enums, raw, types, utils
from pyrogram.errors import RPCError
from pyrogram.handlers import RawUpdateHandler
from pyrogram.session import Session

from telecast_dispatcher.sending import outcomes
from telecast_dispatcher.sending.outcomes import Kind, Outcome
from telecast_dispatcher.telegram.accounts import AccountConfig
from telecast_dispatcher.telegram.port import (
    Accepted,
    Account,
    OutgoingMessage,
    Receipt,
    SendError,
    Target,
)
from telecast_libs.content.markup import Entity, to_entities
from telecast_libs.log import get_logger

log = get_logger(__name__)

# The requests whose repetition could do a thing twice: never repeated here.
_AT_MOST_ONCE = (
    raw.functions.messages.SendMessage,
    raw.functions.messages.SendMedia,
    raw.functions.messages.ExportChatInvite,
)
# How long a send waits for a session that is reconnecting before it counts as not sent.
_RECONNECT_WAIT_SECONDS = 5.0

_CALLBACK_FROM_USER = Outcome(
    "BUTTON_TYPE_INVALID", "Only bots can send callback buttons", Kind.PERMANENT
)

_ENTITY_TYPES = {
    "bold": enums.MessageEntityType.BOLD,
    "italic": enums.MessageEntityType.ITALIC,
    "underline": enums.MessageEntityType.UNDERLINE,
    "strikethrough": enums.MessageEntityType.STRIKETHROUGH,
    "spoiler": enums.MessageEntityType.SPOILER,
    "code": enums.MessageEntityType.CODE,
    "pre": enums.MessageEntityType.PRE,
    "text_link": enums.MessageEntityType.TEXT_LINK,
    "text_mention": enums.MessageEntityType.TEXT_MENTION,
    "custom_emoji": enums.MessageEntityType.CUSTOM_EMOJI,
    "blockquote": enums.MessageEntityType.BLOCKQUOTE,
    "expandable_blockquote": enums.MessageEntityType.BLOCKQUOTE,
}
_UNKNOWN_ERROR = re.compile(r"^\[-?\d+ ([A-Za-z0-9_]+)")


class _NotSent(Exception):
    """The request never left: nothing happened at Telegram."""


class _Unconfirmed(Exception):
    """The request left and no answer came: it may have been carried out."""


class _Attempt:
    """The raw answer to this task's at-most-once request, once Telegram gave it."""

    answer: Any = None


_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("telecast_pyrogram_attempt", default=None)


class AccountClient(pyrogram.Client):
    """A ``pyrogram.Client`` whose sending requests go out at most once (see the module)."""

    async def invoke(  # type: ignore[override]
        self,
        query: Any,
        retries: int = Session.MAX_RETRIES,
        timeout: float = Session.WAIT_TIMEOUT,
        sleep_threshold: float | None = None,
        retry_delay: float = Session.RETRY_DELAY,
        recaptcha_token: str | None = None,
        business_connection_id: str | None = None,
    ) -> Any:
        if not isinstance(query, _AT_MOST_ONCE) or recaptcha_token or business_connection_id:
            return await super().invoke(
                query,
                retries=retries,
                timeout=timeout,
                sleep_threshold=sleep_threshold,
                retry_delay=retry_delay,
                recaptcha_token=recaptcha_token,
                business_connection_id=business_connection_id,
            )
        session = self.session
        if not self.is_connected or session is None:
            raise _NotSent("the client is not connected")
        if not session.is_started.is_set():
            try:
                await asyncio.wait_for(session.is_started.wait(), _RECONNECT_WAIT_SECONDS)
            except TimeoutError:
                raise _NotSent("the connection to Telegram is down") from None
        wrapped = raw.functions.InvokeWithoutUpdates(query=query) if self.no_updates else query
        if self.takeout_id:
            wrapped = raw.functions.InvokeWithTakeout(takeout_id=self.takeout_id, query=wrapped)
        try:
            answer = await session.send(wrapped, timeout=timeout)
        except TimeoutError as error:
            # Also a connection lost after the request left: its answer never comes.
            raise _Unconfirmed(str(error) or "no answer") from error
        except OSError as error:
            raise _NotSent(str(error) or type(error).__name__) from error
        attempt = _ATTEMPT.get()
        if attempt is not None:
            attempt.answer = answer
        await self.fetch_peers(getattr(answer, "users", []))
        await self.fetch_peers(getattr(answer, "chats", []))
        return answer


def build_client(config: AccountConfig) -> pyrogram.Client:
    """The client of one account: in memory, never sleeping through a FloodWait, and
    receiving updates only where they bring receipts (user accounts)."""
    return AccountClient(
        name=config.account.name,
        api_id=config.api_id,
        api_hash=config.api_hash,
        bot_token=config.bot_token,
        session_string=config.session_string,
        in_memory=True,
        sleep_threshold=0,
        no_updates=config.account.is_bot,
        # Parsing the sent message needs nothing more from Telegram.
        fetch_replies=False,
        fetch_topics=False,
        fetch_stories=False,
        fetch_stickers=False,
    )


def send_error(error: BaseException) -> SendError:
    """The ``SendError`` for what a Pyrogram call raised."""
    if isinstance(error, SendError):
        return error
    if isinstance(error, RPCError):
        telegram_id = error.ID
        if telegram_id is None and isinstance(error.value, str):
            # An error Pyrogram does not know: its id is only in the text, "[400 SOME_ID]".
            unknown = _UNKNOWN_ERROR.match(error.value)
            telegram_id = re.sub(r"_\d+$", "_X", unknown.group(1)) if unknown else None
        if telegram_id is not None:
            telegram_id = telegram_id.upper()  # the -503 one is spelt "Timeout"
        outcome = outcomes.classify(telegram_id, error.CODE)
        seconds = None
        if outcome.kind in (Kind.FLOOD, Kind.CHAT_WAIT) and isinstance(error.value, int):
            seconds = float(error.value)
        return SendError(outcome, seconds=seconds, detail=telegram_id or "")
    if isinstance(error, _Unconfirmed):
        return SendError(outcomes.TIMEOUT, detail=str(error))
    # _NotSent, "Client has not been started yet" (a ConnectionError), and a timeout or a
    # lost connection while resolving a peer: the sending request itself never left.
    if isinstance(error, (_NotSent, OSError)):
        return SendError(outcomes.NETWORK_ERROR, detail=str(error) or type(error).__name__)
    raise error


def _entity(entity: Entity) -> types.MessageEntity:
    return types.MessageEntity(
        type=_ENTITY_TYPES[entity.type],
        offset=entity.offset,
        length=entity.length,
        url=entity.url,
        language=entity.language,
        user=types.User(id=entity.user_id) if entity.user_id is not None else None,
        custom_emoji_id=str(entity.custom_emoji_id) if entity.custom_emoji_id else None,
        expandable=True if entity.type == "expandable_blockquote" else None,
    )


def _keyboard(
    buttons: list[list[dict[str, Any]]], is_bot: bool
) -> types.InlineKeyboardMarkup | None:
    if not buttons:
        return None
    rows = []
    for row in buttons:
        keys = []
        for button in row:
            if button.get("url"):
                keys.append(types.InlineKeyboardButton(button["text"], url=button["url"]))
            elif button.get("callbackData") is not None:
                if not is_bot:
                    raise SendError(_CALLBACK_FROM_USER)
                data = button["callbackData"]
                keys.append(types.InlineKeyboardButton(button["text"], callback_data=data))
            else:
                raise SendError(
                    outcomes.RENDER_FAILED, detail="a button has no url or callbackData"
                )
        rows.append(keys)
    return types.InlineKeyboardMarkup(rows)


def _accepted(answer: Any) -> Accepted | None:
    """The message id and date in a raw answer to SendMessage / SendMedia."""
    if isinstance(answer, raw.types.UpdateShortSentMessage):
        return Accepted(answer.id, datetime.fromtimestamp(answer.date, UTC))
    for update in getattr(answer, "updates", []):
        if isinstance(update, (raw.types.UpdateNewMessage, raw.types.UpdateNewChannelMessage)):
            message = update.message
            return Accepted(message.id, datetime.fromtimestamp(message.date, UTC))
    return None


class PyrogramSender:
    """``TelegramSender`` on Telegram through one Pyrogram client per open account."""

    def __init__(
        self,
        configs: list[AccountConfig],
        *,
        client_factory: Callable[[AccountConfig], pyrogram.Client] = build_client,
    ) -> None:
        self.accounts: list[Account] = [config.account for config in configs]
        self._configs = {config.account.name: config for config in configs}
        self._client_factory = client_factory
        self._clients: dict[str, pyrogram.Client] = {}
        self._receipt_handlers: list[Callable[[Receipt], None]] = []

    async def open(self, account: str) -> None:
        """Log the account in; ``SendError`` if Telegram refuses it (an ``ACCOUNT`` outcome
        for a banned or logged-out account) or cannot be reached."""
        if account in self._clients:
            return
        config = self._configs.get(account)
        if config is None:
            raise ValueError(f"unknown account {account!r}")
        client = self._client_factory(config)
        if not config.account.is_bot:
            client.add_handler(RawUpdateHandler(self._receipts_of(account)))
        try:
            await client.start()
        except Exception as error:
            # Pyrogram's start fails in many shapes when Telegram cannot be reached.
            known = isinstance(error, (RPCError, OSError))
            mapped = send_error(error) if known else SendError(outcomes.NETWORK_ERROR)
            log.warning("telegram.account.open_failed", account=account, code=mapped.outcome.code)
            await self._stop(account, client)
            raise mapped from None
        self._clients[account] = client
        log.info("telegram.account.opened", account=account, is_bot=config.account.is_bot)

    async def close(self, account: str) -> None:
        client = self._clients.pop(account, None)
        if client is not None:
            await self._stop(account, client)
            log.info("telegram.account.closed", account=account)

    async def shutdown(self) -> None:
        for account in list(self._clients):
            await self.close(account)

    async def _stop(self, account: str, client: pyrogram.Client) -> None:
        try:
            if client.is_connected:
                await client.stop()
        except Exception as error:  # a client that fails to stop is dropped all the same
            log.warning("telegram.account.stop_failed", account=account, error=type(error).__name__)

    def _client(self, account: str) -> pyrogram.Client:
        client = self._clients.get(account)
        if client is None:
            raise RuntimeError(f"account {account!r} is not open")
        return client

    async def send(self, account: str, target: Target, message: OutgoingMessage) -> Accepted:
        client = self._client(account)
        is_bot = self._configs[account].account.is_bot
        try:
            formatted = to_entities(message.text, message.parse_mode)
        except ValueError as error:
            raise SendError(outcomes.RENDER_FAILED, detail=str(error)) from None
        entities = [_entity(entity) for entity in formatted.entities] or None
        keyboard = _keyboard(message.buttons, is_bot)
        attempt = _Attempt()
        token = _ATTEMPT.set(attempt)
        try:
            sent = await self._deliver(
                client, target.chat_id, formatted.visible, entities, keyboard, message
            )
        except Exception as error:
            accepted = _accepted(attempt.answer)
            if accepted is None:
                mapped = send_error(error)
                log.info(
                    "telegram.send.refused",
                    account=account,
                    chat_id=target.chat_id,
                    reference=message.reference,
                    code=mapped.outcome.code,
                    seconds=mapped.seconds,
                )
                raise mapped from None
            # Telegram took the message; only reading Pyrogram's copy of it failed.
            log.warning(
                "telegram.send.parse_failed",
                account=account,
                reference=message.reference,
                error=type(error).__name__,
            )
            return accepted
        finally:
            _ATTEMPT.reset(token)
        accepted = _accepted(attempt.answer) or Accepted(sent.id, sent.date.astimezone(UTC))
        log.debug(
            "telegram.send.accepted",
            account=account,
            chat_id=target.chat_id,
            reference=message.reference,
            message_id=accepted.message_id,
        )
        return accepted

    async def _deliver(
        self,
        client: pyrogram.Client,
        chat_id: int,
        text: str,
        entities: list[types.MessageEntity] | None,
        keyboard: types.InlineKeyboardMarkup | None,
        message: OutgoingMessage,
    ) -> types.Message:
        plain = enums.ParseMode.DISABLED  # the entities are computed here (markup.to_entities)
        media = message.media
        if media is None:
            return await client.send_message(
                chat_id, text, parse_mode=plain, entities=entities, reply_markup=keyboard
            )
        source = media.get("url") or media.get("fileId")
        common: dict[str, Any] = {
            "caption": text,
            "parse_mode": plain,
            "caption_entities": entities,
            "reply_markup": keyboard,
        }
        kind = media.get("type")
        if kind == "photo":
            return await client.send_photo(chat_id, source, **common)
        if kind == "video":
            return await client.send_video(chat_id, source, **common)
        if kind == "document":
            return await client.send_document(chat_id, source, **common)
        raise SendError(outcomes.RENDER_FAILED, detail=f"unknown media type {kind!r}")

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
        client = self._client(account)
        try:
            link = await client.create_chat_invite_link(
                chat_id,
                name=name,
                expire_date=expire_date,
                member_limit=member_limit,
                creates_join_request=creates_join_request or None,
            )
        except Exception as error:
            mapped = send_error(error)
            log.info(
                "telegram.invite_link.refused",
                account=account,
                chat_id=chat_id,
                code=mapped.outcome.code,
            )
            raise mapped from None
        return link.invite_link

    def on_receipt(self, handler: Callable[[Receipt], None]) -> None:
        self._receipt_handlers.append(handler)

    def _receipts_of(self, account: str) -> Callable[..., Any]:
        async def on_raw_update(
            client: pyrogram.Client, update: Any, users: Any, chats: Any
        ) -> None:
            if isinstance(update, raw.types.UpdateReadHistoryOutbox):
                chat_id = utils.get_peer_id(update.peer)
            elif isinstance(update, raw.types.UpdateReadChannelOutbox):
                chat_id = utils.get_channel_id(update.channel_id)
            else:
                return
            receipt = Receipt(account, chat_id, update.max_id, "read", datetime.now(UTC))
            for handler in self._receipt_handlers:
                try:
                    handler(receipt)
                except Exception:
                    log.exception("telegram.receipt.handler_failed", account=account)

        return on_raw_update
