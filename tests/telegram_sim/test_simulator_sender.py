"""The dispatcher's ``SimulatorSender`` against a real simulator process: answers mapped to
``Accepted`` and ``SendError`` outcomes, NETWORK_ERROR when nothing was written, TIMEOUT
when a written send got no answer, reconnection, receipts and invite links."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from support.telegram_sim import StartSimulator, sent_messages

from telecast_devenv.platform import free_port
from telecast_dispatcher.sending import outcomes
from telecast_dispatcher.telegram.port import (
    Account,
    ChatKind,
    OutgoingMessage,
    Receipt,
    SendError,
    Target,
)
from telecast_dispatcher.telegram.simulator_adapter import SimulatorSender


def unique_account() -> str:
    return f"acc-{secrets.token_hex(4)}"


def private_chat() -> Target:
    return Target(secrets.randbelow(10**12) + 1, ChatKind.PRIVATE)


def sender_for(address: str, *names: str, **options: float) -> SimulatorSender:
    return SimulatorSender([Account(n, True, 30) for n in names], address, **options)


async def test_sends_and_maps_refusals(start_simulator: StartSimulator, database_url: str) -> None:
    account = unique_account()
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account)
    sender = sender_for(sim.address, account)
    await sender.open(account)
    target = private_chat()
    message = OutgoingMessage("hello", reference=f"e:{target.chat_id}:m", correlation_id="c")
    accepted = await sender.send(account, target, message)
    assert accepted.message_id == 1
    [row] = await sent_messages(database_url, "reference = %s", (message.reference,))
    assert row["accepted_at"] == accepted.at

    with pytest.raises(SendError) as flood:
        await sender.send(account, target, message)  # 1 message/s to a private chat
    assert flood.value.outcome.code == "FLOOD_WAIT" and flood.value.seconds == 1

    with pytest.raises(SendError) as unknown:
        await sender.send("nobody", private_chat(), message)
    assert unknown.value.outcome.kind == outcomes.Kind.ACCOUNT

    await sender.close(account)
    await sender.shutdown()


async def test_network_error_when_the_simulator_is_down() -> None:
    sender = sender_for(f"127.0.0.1:{free_port()}", "a", connect_wait=0.2)
    await sender.open("a")
    with pytest.raises(SendError) as error:
        await sender.send("a", private_chat(), OutgoingMessage("hi"))
    assert error.value.outcome is outcomes.NETWORK_ERROR
    await sender.shutdown()


async def test_timeout_when_the_simulator_dies_mid_request_then_reconnects(
    start_simulator: StartSimulator,
) -> None:
    account = unique_account()
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account, TELEGRAM_SIM_LATENCY_MS="3000")
    sender = sender_for(sim.address, account, backoff_max=0.2)
    await sender.open(account)
    sending = asyncio.create_task(sender.send(account, private_chat(), OutgoingMessage("hi")))
    await asyncio.sleep(0.5)
    sim.kill()
    with pytest.raises(SendError) as error:
        await sending
    assert error.value.outcome is outcomes.TIMEOUT
    with pytest.raises(SendError) as down:
        await sender.send(account, private_chat(), OutgoingMessage("hi"))
    assert down.value.outcome is outcomes.NETWORK_ERROR

    sim.start(TELEGRAM_SIM_LATENCY_MS="0")
    sim.wait_ready()
    for _ in range(50):
        try:
            await sender.send(account, private_chat(), OutgoingMessage("again"))
            break
        except SendError as retry:
            assert retry.outcome is outcomes.NETWORK_ERROR
            await asyncio.sleep(0.1)
    else:
        pytest.fail("the sender did not reconnect")
    await sender.shutdown()


async def test_timeout_when_no_answer_comes_in_time(start_simulator: StartSimulator) -> None:
    account = unique_account()
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account, TELEGRAM_SIM_LATENCY_MS="1500")
    sender = sender_for(sim.address, account, timeout=0.3)
    await sender.open(account)
    with pytest.raises(SendError) as error:
        await sender.send(account, private_chat(), OutgoingMessage("slow"))
    assert error.value.outcome is outcomes.TIMEOUT
    await sender.shutdown()


async def test_receipts_reach_the_handlers(start_simulator: StartSimulator) -> None:
    account = unique_account()
    sim = start_simulator(
        TELEGRAM_SIM_ACCOUNTS=account, TELEGRAM_SIM_READ_RATE="1", TELEGRAM_SIM_CLICK_RATE="1"
    )
    sender = sender_for(sim.address, account)
    receipts: list[Receipt] = []
    sender.on_receipt(receipts.append)
    await sender.open(account)
    target = private_chat()
    buttons = [[{"text": "Open", "url": "https://example.com/offer"}]]
    accepted = await sender.send(account, target, OutgoingMessage("hi", buttons=buttons))
    for _ in range(40):
        if len(receipts) >= 2:
            break
        await asyncio.sleep(0.1)
    await sender.shutdown()
    by_kind = {r.kind: r for r in receipts}
    assert set(by_kind) == {"read", "click"}
    for receipt in receipts:
        assert (receipt.account, receipt.chat_id, receipt.message_id) == (
            account,
            target.chat_id,
            accepted.message_id,
        )
        assert receipt.at >= accepted.at
    assert by_kind["click"].url == "https://example.com/offer"


async def test_invite_links(start_simulator: StartSimulator) -> None:
    account = unique_account()
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account, TELEGRAM_SIM_NOT_ADMIN_CHATS="-42")
    sender = sender_for(sim.address, account)
    await sender.open(account)
    link = await sender.create_invite_link(account, -43, name="n", creates_join_request=True)
    assert link.startswith("https://t.me/+")
    with pytest.raises(SendError) as error:
        await sender.create_invite_link(account, -42)
    assert error.value.outcome.code == "CHAT_ADMIN_REQUIRED"
    await sender.shutdown()
