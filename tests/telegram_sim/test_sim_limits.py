"""Telegram's limits as the simulator enforces them: the account's rate, one message per
second to a private chat, N per minute to a group; FLOOD_WAIT_X with the seconds until the
window frees, and a violation recorded when a client ignores it. ``limit_violations`` is
the proof tests use, so it is checked here on hand-made lists too."""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from support.telegram_sim import (
    SentRow,
    SimulatorClient,
    StartSimulator,
    limit_violations,
    recorded,
    sent_messages,
    sent_rows,
)

from telecast_libs import simproto
from telecast_telegram_sim import expected_refusal, parse_error_mix
from telecast_telegram_sim.rules import SECOND, Limits, Rules


def unique_account() -> str:
    return f"acc-{secrets.token_hex(4)}"


def chat_base() -> int:
    return secrets.randbelow(10**12) * 1000


async def test_account_rate_answers_flood_wait_and_records_violations(
    start_simulator: StartSimulator, database_url: str
) -> None:
    account = unique_account()
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account, TELEGRAM_SIM_ACCOUNT_RATE="5")
    client = await SimulatorClient.connect(sim.address)
    base = chat_base()
    answers = await asyncio.gather(*(client.submit_send(account, base + i) for i in range(6)))
    # With the latency's jitter, any one of them may be the sixth to be processed.
    [refused] = [a for a in answers if isinstance(a, simproto.Refused)]
    assert (refused.error, refused.status, refused.value) == ("FLOOD_WAIT_X", 420, 1)
    answered_at = time.monotonic()
    # A client that ignores the wait.
    ignored = await client.send(account, base + 10)
    assert isinstance(ignored, simproto.Refused) and ignored.error == "FLOOD_WAIT_X"
    assert ignored.value == 1
    [violation] = await recorded(database_url, "violations", "account = %s", (account,))
    assert violation["kind"] == "account_flood" and violation["chat_id"] == base + 10
    # One that obeys it, counted from the answer.
    await asyncio.sleep(refused.value - (time.monotonic() - answered_at) + 0.01)
    assert isinstance(await client.send(account, base + 11), simproto.Ok)
    await client.close()
    refusals = await recorded(database_url, "refusals", "account = %s", (account,))
    assert [r["over_limit"] for r in refusals] == [True, True]
    rows = sent_rows(await sent_messages(database_url, "account = %s", (account,)))
    assert len(rows) == 6 and limit_violations(rows, 5, 1, 20) == []


async def test_a_client_pacing_itself_by_answers_never_overlaps(
    start_simulator: StartSimulator, database_url: str
) -> None:
    account = unique_account()
    sim = start_simulator(
        TELEGRAM_SIM_ACCOUNTS=account, TELEGRAM_SIM_ACCOUNT_RATE="10", TELEGRAM_SIM_LATENCY_MS="20"
    )
    client = await SimulatorClient.connect(sim.address)
    base = chat_base()
    window_start = None
    for burst in range(3):
        if window_start is not None:
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - window_start)))
        futures = [client.submit_send(account, base + burst * 100 + i) for i in range(10)]
        answers = await asyncio.gather(*futures)
        window_start = time.monotonic()
        assert all(isinstance(a, simproto.Ok) for a in answers), answers
    await client.close()
    rows = sent_rows(await sent_messages(database_url, "account = %s", (account,)))
    assert len(rows) == 30 and limit_violations(rows, 10, 1, 20) == []


async def test_private_chat_window(start_simulator: StartSimulator, database_url: str) -> None:
    account = unique_account()
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account)
    client = await SimulatorClient.connect(sim.address)
    chat = chat_base()
    assert isinstance(await client.send(account, chat), simproto.Ok)
    second = await client.send(account, chat)
    assert isinstance(second, simproto.Refused)
    assert (second.error, second.value) == ("FLOOD_WAIT_X", 1)
    # Only that chat waits.
    assert isinstance(await client.send(account, chat + 1), simproto.Ok)
    ignored = await client.send(account, chat)
    assert isinstance(ignored, simproto.Refused) and ignored.error == "FLOOD_WAIT_X"
    [violation] = await recorded(database_url, "violations", "account = %s", (account,))
    assert (violation["kind"], violation["chat_id"]) == ("chat_flood", chat)
    await asyncio.sleep(1.05)
    assert isinstance(await client.send(account, chat), simproto.Ok)
    await client.close()


async def test_group_window(start_simulator: StartSimulator) -> None:
    account = unique_account()
    sim = start_simulator(TELEGRAM_SIM_ACCOUNTS=account, TELEGRAM_SIM_GROUP_RATE_PER_MINUTE="3")
    client = await SimulatorClient.connect(sim.address)
    group = -chat_base()
    for kind in ("group", "channel"):
        chat = group if kind == "group" else group - 1
        answers = [await client.send(account, chat, chat_kind=kind) for _ in range(4)]
        assert [type(a) for a in answers] == [simproto.Ok] * 3 + [simproto.Refused]
        assert answers[3].error == "FLOOD_WAIT_X" and 59 <= answers[3].value <= 60
    # A private chat of the same account is not concerned.
    assert isinstance(await client.send(account, chat_base()), simproto.Ok)
    # Reconfigured at run time: the same windows, a larger limit.
    await client.configure(groupRatePerMinute=5)
    await client.reset(account)
    assert isinstance(await client.send(account, group, chat_kind="group"), simproto.Ok)
    await client.close()


T0 = datetime(2024, 6, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_limit_violations_finds_an_overlapping_window() -> None:
    # 3 per second allowed; 0.0, 0.5, 0.9 and 0.95 are four in one second.
    rows = [SentRow("a", 100 + i, "private", at(t)) for i, t in enumerate((0, 0.5, 0.9, 0.95))]
    [found] = limit_violations(rows, 3, 1, 20)
    assert (found.kind, found.account, found.count, found.limit) == ("account", "a", 4, 3)
    assert (found.start, found.end) == (at(0), at(0.95))


def test_limit_violations_accepts_a_compliant_list() -> None:
    # Exactly one second apart is a new window; another account has its own.
    rows = [SentRow("a", 100 + i, "private", at(t)) for i, t in enumerate((0, 0.5, 0.9, 1.0))]
    rows += [SentRow("b", 100, "private", at(t)) for t in (0, 1, 2)]
    rows += [SentRow("c", -5, "group", at(t)) for t in range(0, 40, 2)]
    assert limit_violations(rows, 3, 1, 20) == []
    assert limit_violations(rows, 0, 0, 0) == []


def test_limit_violations_per_chat_windows() -> None:
    private = [SentRow("a", 7, "private", at(t)) for t in (0, 0.999999)]
    [found] = limit_violations(private, 0, 1, 20)
    assert (found.kind, found.chat_id, found.count) == ("private_chat", 7, 2)
    group = [SentRow("a", -9, "channel", at(t)) for t in [*range(0, 40, 2), 59.9]]
    [found] = limit_violations(group, 0, 1, 20)
    assert (found.kind, found.chat_id, found.count) == ("group", -9, 21)
    assert limit_violations([*group[:-1], SentRow("a", -9, "channel", at(60))], 0, 1, 20) == []


def test_sweeping_forgets_only_chats_whose_windows_are_over() -> None:
    limits = Limits(Rules(account_rate=0))
    t = 1_700_000_000 * SECOND
    for chat in (1, 2):
        assert limits.on_accept("a", chat, "private", t) is None
        limits.record("a", chat, t)
    assert limits.on_accept("a", 1, "private", t + SECOND // 2) is not None  # chat 1 waits
    limits.sweep(t + SECOND // 2)
    refused = limits.on_accept("a", 2, "private", t + SECOND // 2)
    assert refused is not None and refused.error == "FLOOD_WAIT_X"
    limits.sweep(t + 3 * SECOND)
    assert limits.on_accept("a", 1, "private", t + 3 * SECOND) is None


def test_error_mix_setting() -> None:
    assert parse_error_mix(" user_is_blocked=0.5, RPC_CALL_FAIL=0 ") == {
        "USER_IS_BLOCKED": 0.5,
        "RPC_CALL_FAIL": 0.0,
    }
    for bad in ("USER_IS_BLOCKED", "X=2", "X=abc", "=0.1"):
        with pytest.raises(ValueError):
            parse_error_mix(bad)
    assert expected_refusal(12345, "") is None
    assert expected_refusal(12345, "USER_IS_BLOCKED=1,PEER_ID_INVALID=1") == "USER_IS_BLOCKED"
    assert expected_refusal(12345, "RPC_CALL_FAIL=1") is None
