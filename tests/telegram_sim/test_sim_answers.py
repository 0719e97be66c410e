"""The simulator's answers and its record: accept and record, pipelining, the error mix,
injected flood waits, PEER_FLOOD, unknown accounts, invite links."""

from __future__ import annotations

import asyncio
import secrets

from support.telegram_sim import SimulatorClient, StartSimulator, recorded, sent_messages

from telecast_libs import simproto
from telecast_telegram_sim import expected_refusal


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def chat_base() -> int:
    return secrets.randbelow(10**12) * 1000


async def test_accepted_means_recorded_before_the_answer(
    start_simulator: StartSimulator, database_url: str
) -> None:
    account = unique("acc")
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account)
    client = await SimulatorClient.connect(sim.address)
    reference = unique("exec") + ":contact:1"
    chat = chat_base()
    answer = await client.send(
        account,
        chat,
        "<b>hi</b>",
        parse_mode="html",
        buttons=[[{"text": "Go", "url": "https://example.com"}]],
        media={"type": "photo", "url": "https://example.com/a.png"},
        reference=reference,
        correlation_id="corr-1",
    )
    sim.kill()  # no chance to flush anything after the answer
    await client.close()
    assert isinstance(answer, simproto.Ok)
    assert answer.message_id == 1
    [row] = await sent_messages(database_url, "reference = %s", (reference,))
    assert row["account"] == account and row["chat_id"] == chat and row["chat_kind"] == "private"
    assert row["text"] == "<b>hi</b>" and row["parse_mode"] == "html"
    assert row["buttons"] == [[{"text": "Go", "url": "https://example.com"}]]
    assert row["media"] == {"type": "photo", "url": "https://example.com/a.png"}
    assert row["correlation_id"] == "corr-1"
    assert abs(row["accepted_at"].timestamp() - answer.at) < 1e-6


async def test_message_ids_increase_per_chat_across_restarts(
    start_simulator: StartSimulator,
) -> None:
    account = unique("acc")
    env = {"TELEGRAM_SIM_ACCOUNTS": account, "TELEGRAM_SIM_PRIVATE_CHAT_RATE": "0"}
    sim = start_simulator(**env)
    chat = chat_base()
    client = await SimulatorClient.connect(sim.address)
    ids = [(await client.send(account, chat)).message_id for _ in range(3)]
    other = await client.send(account, chat + 1)
    await client.close()
    sim.stop()
    sim.start()
    sim.wait_ready()
    client = await SimulatorClient.connect(sim.address)
    after = await client.send(account, chat)
    await client.close()
    assert ids == [1, 2, 3] and other.message_id == 1 and after.message_id == 4


async def test_pipelined_sends_each_get_their_own_answer(
    start_simulator: StartSimulator, database_url: str
) -> None:
    account = unique("acc")
    sim = start_simulator(
        TELEGRAM_SIM_ACCOUNTS=account,
        TELEGRAM_SIM_ACCOUNT_RATE="0",
        TELEGRAM_SIM_LATENCY_MS="5",
        TELEGRAM_SIM_JITTER_MS="4",
    )
    client = await SimulatorClient.connect(sim.address)
    base = chat_base()
    execution = unique("exec")
    futures = [
        client.submit_send(account, base + i, f"text {i}", reference=f"{execution}:{i}:m")
        for i in range(500)
    ]
    answers = await asyncio.gather(*futures)
    await client.close()
    assert all(isinstance(a, simproto.Ok) and a.message_id == 1 for a in answers)
    rows = await sent_messages(database_url, "reference LIKE %s", (f"{execution}:%",))
    by_reference = {r["reference"]: r for r in rows}
    assert len(rows) == len(by_reference) == 500
    for i, answer in enumerate(answers):
        row = by_reference[f"{execution}:{i}:m"]
        assert row["chat_id"] == base + i and row["text"] == f"text {i}"
        assert abs(row["accepted_at"].timestamp() - answer.at) < 1e-6


async def test_the_error_mix_is_a_function_of_the_chat(
    start_simulator: StartSimulator, database_url: str
) -> None:
    account = unique("acc")
    mix = "USER_IS_BLOCKED=0.3,PEER_ID_INVALID=0.2,CHAT_WRITE_FORBIDDEN=0.1"
    sim = start_simulator(
        TELEGRAM_SIM_ACCOUNTS=account,
        TELEGRAM_SIM_ACCOUNT_RATE="0",
        TELEGRAM_SIM_PRIVATE_CHAT_RATE="0",
        TELEGRAM_SIM_ERROR_MIX=mix,
    )
    client = await SimulatorClient.connect(sim.address)
    chats = [chat_base() + i for i in range(60)]
    for _attempt in range(2):
        answers = await asyncio.gather(*(client.submit_send(account, c) for c in chats))
        for chat, answer in zip(chats, answers, strict=True):
            expected = expected_refusal(chat, mix)
            if expected is None:
                assert isinstance(answer, simproto.Ok), (chat, answer)
            else:
                assert isinstance(answer, simproto.Refused) and answer.error == expected
                assert answer.status == (403 if expected == "CHAT_WRITE_FORBIDDEN" else 400)
    await client.close()
    refused = {c for c in chats if expected_refusal(c, mix)}
    assert 5 < len(refused) < 55
    rows = await recorded(database_url, "refusals", "account = %s", (account,))
    assert len(rows) == 2 * len(refused) and not any(r["over_limit"] for r in rows)


async def test_transient_errors_never_accept(
    start_simulator: StartSimulator, database_url: str
) -> None:
    account = unique("acc")
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account, TELEGRAM_SIM_ERROR_MIX="RPC_CALL_FAIL=1")
    client = await SimulatorClient.connect(sim.address)
    answer = await client.send(account, chat_base())
    assert isinstance(answer, simproto.Refused)
    assert (answer.error, answer.status, answer.value) == ("RPC_CALL_FAIL", 500, None)
    await client.configure(errorMix="RPC_CALL_FAIL=0.5")
    answers = await asyncio.gather(*(client.submit_send(account, chat_base()) for _ in range(40)))
    await client.close()
    kinds = {type(a) for a in answers}
    assert kinds == {simproto.Ok, simproto.Refused}
    accepted = sum(isinstance(a, simproto.Ok) for a in answers)
    assert len(await sent_messages(database_url, "account = %s", (account,))) == accepted


async def test_injected_flood_wait_and_peer_flood(
    start_simulator: StartSimulator, database_url: str
) -> None:
    account, other = unique("acc"), unique("acc")
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=f"{account},{other}")
    client = await SimulatorClient.connect(sim.address)
    await client.flood_wait(account, 3)
    first = await client.send(account, chat_base())
    assert isinstance(first, simproto.Refused)
    assert (first.error, first.status, first.value) == ("FLOOD_WAIT_X", 420, 3)
    # The other account is not concerned.
    assert isinstance(await client.send(other, chat_base()), simproto.Ok)
    ignored = await client.send(account, chat_base())
    assert isinstance(ignored, simproto.Refused) and ignored.error == "FLOOD_WAIT_X"
    assert 1 <= ignored.value <= 3
    [violation] = await recorded(database_url, "violations", "account = %s", (account,))
    assert violation["kind"] == "account_flood"

    await client.peer_flood(other)
    for _ in range(3):
        answer = await client.send(other, chat_base())
        assert isinstance(answer, simproto.Refused) and answer.error == "PEER_FLOOD"
    counters = await client.counters()
    assert counters["refused.PEER_FLOOD"] == 3 and counters["violations.account_flood"] == 1
    await client.reset()
    assert isinstance(await client.send(other, chat_base()), simproto.Ok)
    await client.close()


async def test_unknown_account_is_refused(start_simulator: StartSimulator) -> None:
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=unique("acc"))
    client = await SimulatorClient.connect(sim.address)
    answer = await client.send("nobody", chat_base())
    await client.close()
    assert isinstance(answer, simproto.Refused)
    assert (answer.error, answer.status) == ("ACCESS_TOKEN_INVALID", 401)


async def test_invite_links(start_simulator: StartSimulator, database_url: str) -> None:
    account = unique("acc")
    group = -chat_base()
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account, TELEGRAM_SIM_NOT_ADMIN_CHATS=str(group))
    client = await SimulatorClient.connect(sim.address)
    ok = await client.invite(account, group - 1, name="spring", member_limit=10, join_request=True)
    refused = await client.invite(account, group)
    await client.close()
    assert isinstance(ok, simproto.Ok) and ok.link.startswith("https://t.me/+")
    assert isinstance(refused, simproto.Refused) and refused.error == "CHAT_ADMIN_REQUIRED"
    [row] = await recorded(database_url, "invites", "account = %s", (account,))
    assert (row["link"], row["name"], row["member_limit"], row["join_request"]) == (
        ok.link,
        "spring",
        10,
        True,
    )


async def test_sigterm_answers_and_records_what_is_in_flight(
    start_simulator: StartSimulator, database_url: str
) -> None:
    account = unique("acc")
    sim = start_simulator(
        TELEGRAM_SIM_ACCOUNTS=account,
        TELEGRAM_SIM_ACCOUNT_RATE="0",
        TELEGRAM_SIM_LATENCY_MS="800",
        TELEGRAM_SIM_JITTER_MS="0",
    )
    client = await SimulatorClient.connect(sim.address)
    base = chat_base()
    futures = [client.submit_send(account, base + i) for i in range(50)]
    await asyncio.sleep(0.2)
    await asyncio.to_thread(sim.stop)
    answers = await asyncio.gather(*futures)
    await client.close()
    assert sim.wait_exit(1) == 0
    assert all(isinstance(a, simproto.Ok) for a in answers)
    assert len(await sent_messages(database_url, "account = %s", (account,))) == 50
