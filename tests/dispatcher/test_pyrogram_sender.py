"""The Pyrogram adapter against Pyrogram itself: real ``pyrogram.Client``s (as the adapter
builds them) whose session's ``send``, the last step before bytes go to Telegram, is a
script. Pyrogram's own send_message / send_photo / create_chat_invite_link build the raw
requests asserted here; errors are Pyrogram's real exception classes. Nothing reaches
Telegram.
"""

from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pyrogram import errors, raw
from pyrogram.session import Session

from telecast_dispatcher.sending import outcomes
from telecast_dispatcher.sending.outcomes import Kind
from telecast_dispatcher.telegram.accounts import AccountConfig, accounts_from_settings
from telecast_dispatcher.telegram.port import ChatKind, OutgoingMessage, Receipt, SendError, Target
from telecast_dispatcher.telegram.pyrogram_adapter import (
    AccountClient,
    PyrogramSender,
    build_client,
)

API_HASH = "0123456789abcdef0123456789abcdef"
BOT_TOKEN = "123456:AAE" + "x" * 32
USER_ID = 777
RECIPIENT = 4242
SENT_AT = 1_700_000_000


def _session_string(user_id: int, is_bot: bool = False) -> str:
    packed = struct.pack(">BI?256sQ?", 2, 12345, False, b"k" * 256, user_id, is_bot)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


class ScriptedSession(Session):
    """A Pyrogram session whose ``send`` answers from a script instead of Telegram."""

    def __init__(self, client: Any, answer: Callable[[Any], Any]) -> None:
        self.client = client
        self.answer = answer
        self.sent: list[Any] = []
        self.is_started = asyncio.Event()
        self.is_started.set()

    async def send(self, data: Any, wait_response: bool = True, timeout: float = 15) -> Any:
        self.sent.append(data)
        return self.answer(data)


def _inner(query: Any) -> Any:
    while isinstance(query, (raw.functions.InvokeWithoutUpdates, raw.functions.InvokeWithTakeout)):
        query = query.query
    return query


def _default_answer(query: Any) -> Any:
    query = _inner(query)
    if isinstance(query, raw.functions.messages.SendMessage):
        return raw.types.UpdateShortSentMessage(id=42, pts=1, pts_count=1, date=SENT_AT, out=True)
    if isinstance(query, raw.functions.messages.SendMedia):
        message = raw.types.Message(
            id=43,
            peer_id=raw.types.PeerUser(user_id=RECIPIENT),
            date=SENT_AT,
            message=query.message,
            out=True,
        )
        return raw.types.Updates(
            updates=[raw.types.UpdateNewMessage(message=message, pts=2, pts_count=1)],
            users=[],
            chats=[],
            date=SENT_AT,
            seq=0,
        )
    if isinstance(query, raw.functions.messages.ExportChatInvite):
        return raw.types.ChatInviteExported(
            link="https://t.me/+AbCdEf", admin_id=USER_ID, date=SENT_AT, title=query.title
        )
    raise AssertionError(f"unexpected request {query}")


class Harness:
    """A sender over scripted clients; ``answer`` may be replaced per test."""

    def __init__(self, configs: list[AccountConfig]) -> None:
        self.answer: Callable[[Any], Any] = _default_answer
        self.sessions: dict[str, ScriptedSession] = {}
        self.clients: dict[str, Any] = {}
        self.sender = PyrogramSender(configs, client_factory=self._client)

    def _client(self, config: AccountConfig) -> Any:
        client = build_client(config)
        session = ScriptedSession(client, lambda query: self.answer(query))

        async def start() -> Any:  # what Client.start does, minus Telegram
            await client.storage.open()
            await client.storage.update_peers([(RECIPIENT, 99, "user", None)])
            client.session = session
            client.is_connected = True
            return client

        async def stop(block: bool = True) -> Any:
            client.is_connected = False
            return client

        client.start, client.stop = start, stop
        self.sessions[config.account.name] = session
        self.clients[config.account.name] = client
        return client

    def requests(self, account: str) -> list[Any]:
        return [_inner(query) for query in self.sessions[account].sent]


@pytest.fixture
async def bot() -> Harness:
    harness = Harness(accounts_from_settings(1, API_HASH, BOT_TOKEN, "", 30, 1))
    await harness.sender.open("bot-123456")
    return harness


@pytest.fixture
async def user() -> Harness:
    harness = Harness(accounts_from_settings(1, API_HASH, "", _session_string(USER_ID), 30, 1))
    await harness.sender.open(f"user-{USER_ID}")
    return harness


PRIVATE = Target(RECIPIENT, ChatKind.PRIVATE)


def test_clients_never_sleep_through_a_flood_wait() -> None:
    for config in accounts_from_settings(1, API_HASH, BOT_TOKEN, _session_string(USER_ID), 30, 1):
        client = build_client(config)
        assert isinstance(client, AccountClient)
        assert client.sleep_threshold == 0
        assert client.in_memory
        assert client.no_updates is config.account.is_bot  # users receive read receipts


async def test_a_text_goes_out_with_its_entities_peer_and_buttons(bot: Harness) -> None:
    message = OutgoingMessage(
        text=r"*Hi* _there_, see [our shop](https://shop.example/a\)b) \- 10\% off",
        parse_mode="markdown",
        buttons=[
            [{"text": "Open", "url": "https://shop.example"}],
            [{"text": "Yes", "callbackData": "y"}],
        ],
    )
    accepted = await bot.sender.send("bot-123456", PRIVATE, message)

    assert accepted.message_id == 42
    assert accepted.at == datetime.fromtimestamp(SENT_AT, UTC)
    [request] = bot.requests("bot-123456")
    assert isinstance(bot.sessions["bot-123456"].sent[0], raw.functions.InvokeWithoutUpdates)
    assert isinstance(request, raw.functions.messages.SendMessage)
    assert request.peer == raw.types.InputPeerUser(user_id=RECIPIENT, access_hash=99)
    assert request.message == "Hi there, see our shop - 10% off"
    assert request.entities == [
        raw.types.MessageEntityBold(offset=0, length=2),
        raw.types.MessageEntityItalic(offset=3, length=5),
        raw.types.MessageEntityTextUrl(offset=14, length=8, url="https://shop.example/a)b"),
    ]
    markup = request.reply_markup
    assert isinstance(markup, raw.types.ReplyInlineMarkup)
    [[url_button], [callback_button]] = [row.buttons for row in markup.rows]
    assert url_button.text == "Open"
    assert url_button.type == raw.types.InlineButtonTypeUrl(url="https://shop.example")
    assert callback_button.type == raw.types.InlineButtonTypeCallback(data=b"y")


async def test_html_is_read_as_telegram_reads_it(bot: Harness) -> None:
    message = OutgoingMessage(
        text='<b>A &amp;lt; B</b> <span class="tg-spoiler">s</span>', parse_mode="HTML"
    )
    await bot.sender.send("bot-123456", PRIVATE, message)
    [request] = bot.requests("bot-123456")
    assert request.message == "A &lt; B s"
    assert request.entities == [
        raw.types.MessageEntityBold(offset=0, length=8),
        raw.types.MessageEntitySpoiler(offset=9, length=1),
    ]


async def test_plain_text_has_no_entities(bot: Harness) -> None:
    await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage(text="*not bold* <b>"))
    [request] = bot.requests("bot-123456")
    assert request.message == "*not bold* <b>"
    assert request.entities is None


async def test_a_photo_carries_the_text_as_its_caption(bot: Harness) -> None:
    message = OutgoingMessage(
        text="<i>Look</i>",
        parse_mode="html",
        media={"type": "photo", "url": "https://cdn.example/p.jpg"},
    )
    accepted = await bot.sender.send("bot-123456", PRIVATE, message)
    assert accepted.message_id == 43
    [request] = bot.requests("bot-123456")
    assert isinstance(request, raw.functions.messages.SendMedia)
    assert request.media == raw.types.InputMediaPhotoExternal(url="https://cdn.example/p.jpg")
    assert request.message == "Look"
    assert request.entities == [raw.types.MessageEntityItalic(offset=0, length=4)]


async def test_a_document_from_a_url(bot: Harness) -> None:
    media = {"type": "document", "url": "https://cdn.example/terms.pdf"}
    await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage(text="Terms", media=media))
    [request] = bot.requests("bot-123456")
    assert request.media == raw.types.InputMediaDocumentExternal(
        url="https://cdn.example/terms.pdf"
    )


async def test_an_unknown_peer_is_resolved_through_pyrogram(bot: Harness) -> None:
    stranger = 5151

    def answer(query: Any) -> Any:
        if isinstance(_inner(query), raw.functions.users.GetUsers):
            return [raw.types.User(id=stranger, access_hash=7, first_name="S")]
        return _default_answer(query)

    bot.answer = answer
    await bot.sender.send("bot-123456", Target(stranger, ChatKind.PRIVATE), OutgoingMessage("hi"))
    get_users, send = bot.requests("bot-123456")
    assert isinstance(get_users, raw.functions.users.GetUsers)
    assert send.peer == raw.types.InputPeerUser(user_id=stranger, access_hash=7)


async def test_an_invite_link(bot: Harness) -> None:
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    link = await bot.sender.create_invite_link(
        "bot-123456",
        RECIPIENT,
        name="vip",
        expire_date=expires,
        member_limit=5,
        creates_join_request=True,
    )
    assert link == "https://t.me/+AbCdEf"
    [request] = bot.requests("bot-123456")
    assert request == raw.functions.messages.ExportChatInvite(
        peer=raw.types.InputPeerUser(user_id=RECIPIENT, access_hash=99),
        expire_date=int(expires.timestamp()),
        usage_limit=5,
        title="vip",
        request_needed=True,
    )


def _raising(error: BaseException) -> Callable[[Any], Any]:
    def answer(query: Any) -> Any:
        raise error

    return answer


ERRORS = [
    (errors.FloodWait(value=17), "FLOOD_WAIT", Kind.FLOOD, 17.0),
    (errors.SlowmodeWait(value=30), "SLOWMODE_WAIT", Kind.CHAT_WAIT, 30.0),
    (errors.PeerFlood(), "PEER_FLOOD", Kind.ACCOUNT, None),
    (errors.UserIsBlocked(), "USER_BLOCKED", Kind.PERMANENT, None),
    (errors.InputUserDeactivated(), "USER_DEACTIVATED", Kind.PERMANENT, None),
    (errors.PeerIdInvalid(), "PEER_INVALID", Kind.PERMANENT, None),
    (errors.ChatWriteForbidden(), "CHAT_WRITE_FORBIDDEN", Kind.PERMANENT, None),
    (errors.UserPrivacyRestricted(), "USER_PRIVACY_RESTRICTED", Kind.PERMANENT, None),
    (errors.MessageTooLong(), "MESSAGE_TOO_LONG", Kind.PERMANENT, None),
    (errors.UserDeactivatedBan(), "ACCOUNT_BANNED", Kind.ACCOUNT, None),
    (errors.AuthKeyUnregistered(), "ACCOUNT_LOGGED_OUT", Kind.ACCOUNT, None),
    (errors.RpcCallFail(), "TRANSIENT_ERROR", Kind.RETRY, None),
    (errors.InternalServerError(), "TRANSIENT_ERROR", Kind.RETRY, None),
    (errors.Timeout(), "SEND_TIMEOUT", Kind.UNKNOWN, None),
]


@pytest.mark.parametrize(("error", "code", "kind", "seconds"), ERRORS, ids=lambda v: str(v)[:30])
async def test_telegram_errors_map_to_outcomes(
    bot: Harness, error: Exception, code: str, kind: Kind, seconds: float | None
) -> None:
    bot.answer = _raising(error)
    with pytest.raises(SendError) as raised:
        await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage("hi"))
    assert (raised.value.outcome.code, raised.value.outcome.kind) == (code, kind)
    assert raised.value.seconds == seconds
    assert len(bot.sessions["bot-123456"].sent) == 1  # never repeated by Pyrogram


@pytest.mark.parametrize(
    ("code", "message"),
    [(400, "BRAND_NEW_ERROR"), (403, "SOMETHING_FORBIDDEN"), (-503, "Timeout")],
)
async def test_errors_as_telegram_sends_them(
    bot: Harness, code: int, message: str, tmp_path: Any, monkeypatch: Any
) -> None:
    """Through ``RPCError.raise_it``, as Pyrogram raises an RpcError answer (unknown ids too:
    Pyrogram appends those to ./unknown_errors.txt, hence the working directory)."""
    monkeypatch.chdir(tmp_path)

    def answer(query: Any) -> Any:
        errors.RPCError.raise_it(
            raw.types.RpcError(error_code=code, error_message=message), type(_inner(query))
        )

    bot.answer = answer
    with pytest.raises(SendError) as raised:
        await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage("hi"))
    outcome = raised.value.outcome
    if code == -503:
        assert outcome == outcomes.TIMEOUT
    else:
        assert (outcome.code, outcome.kind) == (message, Kind.PERMANENT)


async def test_the_raw_flood_wait_answer_carries_its_seconds(bot: Harness) -> None:
    def answer(query: Any) -> Any:
        errors.RPCError.raise_it(
            raw.types.RpcError(error_code=420, error_message="FLOOD_WAIT_42"), type(_inner(query))
        )

    bot.answer = answer
    with pytest.raises(SendError) as raised:
        await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage("hi"))
    assert raised.value.outcome.kind is Kind.FLOOD
    assert raised.value.seconds == 42.0


async def test_a_send_without_an_answer_is_unconfirmed_and_not_repeated(bot: Harness) -> None:
    bot.answer = _raising(TimeoutError("Request timed out"))
    with pytest.raises(SendError) as raised:
        await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage("hi"))
    assert raised.value.outcome == outcomes.TIMEOUT
    assert len(bot.sessions["bot-123456"].sent) == 1


async def test_a_request_that_could_not_leave_is_a_network_error(bot: Harness) -> None:
    bot.answer = _raising(ConnectionResetError("connection reset"))
    with pytest.raises(SendError) as raised:
        await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage("hi"))
    assert raised.value.outcome == outcomes.NETWORK_ERROR


async def test_a_disconnected_client_is_a_network_error(bot: Harness) -> None:
    bot.clients["bot-123456"].is_connected = False
    with pytest.raises(SendError) as raised:
        await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage("hi"))
    assert raised.value.outcome == outcomes.NETWORK_ERROR
    assert bot.sessions["bot-123456"].sent == []


async def test_a_reconnecting_session_is_a_network_error(bot: Harness, monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "telecast_dispatcher.telegram.pyrogram_adapter._RECONNECT_WAIT_SECONDS", 0.01
    )
    bot.sessions["bot-123456"].is_started.clear()
    with pytest.raises(SendError) as raised:
        await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage("hi"))
    assert raised.value.outcome == outcomes.NETWORK_ERROR


async def test_invite_link_errors_are_mapped(bot: Harness) -> None:
    bot.answer = _raising(errors.ChatAdminRequired())
    with pytest.raises(SendError) as raised:
        await bot.sender.create_invite_link("bot-123456", RECIPIENT)
    assert raised.value.outcome.code == "CHAT_ADMIN_REQUIRED"


async def test_a_user_account_cannot_send_callback_buttons(user: Harness) -> None:
    message = OutgoingMessage("hi", buttons=[[{"text": "Yes", "callbackData": "y"}]])
    with pytest.raises(SendError) as raised:
        await user.sender.send(f"user-{USER_ID}", PRIVATE, message)
    assert raised.value.outcome.kind is Kind.PERMANENT
    assert user.sessions[f"user-{USER_ID}"].sent == []


async def test_a_user_account_sends_with_updates_and_reports_reads(user: Harness) -> None:
    account = f"user-{USER_ID}"
    await user.sender.send(account, PRIVATE, OutgoingMessage("hi"))
    assert isinstance(user.sessions[account].sent[0], raw.functions.messages.SendMessage)

    receipts: list[Receipt] = []
    user.sender.on_receipt(receipts.append)
    client = user.clients[account]
    [[handler]] = [handlers for handlers in client.dispatcher.groups.values()]
    read = raw.types.UpdateReadHistoryOutbox(
        peer=raw.types.PeerUser(user_id=RECIPIENT), max_id=42, pts=3, pts_count=1
    )
    await handler.callback(client, read, {}, {})
    [receipt] = receipts
    assert (receipt.account, receipt.chat_id, receipt.message_id, receipt.kind) == (
        account,
        RECIPIENT,
        42,
        "read",
    )


async def test_an_account_that_telegram_refuses_does_not_open() -> None:
    harness = Harness(accounts_from_settings(1, API_HASH, BOT_TOKEN, "", 30, 1))
    original = harness._client

    def refusing(config: AccountConfig) -> Any:
        client = original(config)

        async def start() -> Any:
            raise errors.AuthKeyUnregistered()

        client.start = start
        return client

    harness.sender._client_factory = refusing
    with pytest.raises(SendError) as raised:
        await harness.sender.open("bot-123456")
    assert raised.value.outcome.kind is Kind.ACCOUNT
    with pytest.raises(RuntimeError):
        await harness.sender.send("bot-123456", PRIVATE, OutgoingMessage("hi"))


async def test_close_and_shutdown_stop_the_clients(bot: Harness) -> None:
    client = bot.clients["bot-123456"]
    await bot.sender.shutdown()
    assert not client.is_connected
    with pytest.raises(RuntimeError):
        await bot.sender.send("bot-123456", PRIVATE, OutgoingMessage("hi"))
