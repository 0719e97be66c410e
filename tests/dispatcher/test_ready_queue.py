"""Which claimed delivery an account sends next (no I/O)."""

from __future__ import annotations

from types import SimpleNamespace

from telecast_dispatcher.sending.dispatch import Job, ReadyQueue
from telecast_dispatcher.sending.limits import AccountLimits, LimitSettings
from telecast_dispatcher.telegram.port import ChatKind, Target


def job(run: SimpleNamespace, chat: int) -> Job:
    return Job(
        run=run,
        contact_id=f"c{chat}",
        recipient={},
        target=Target(chat, ChatKind.PRIVATE),
        steps=[0],
    )  # type: ignore[arg-type]


def test_high_priority_deliveries_go_first_then_in_order() -> None:
    low, high = SimpleNamespace(priority="low"), SimpleNamespace(priority="high")
    queue = ReadyQueue()
    for chat in (1, 2):
        queue.push(job(low, chat))
    queue.push(job(high, 3))
    limits = AccountLimits(LimitSettings(account_rate=0))
    taken = [queue.take(limits, 0.0)[0].target.chat_id for _ in range(3)]
    assert taken == [3, 1, 2]
    assert queue.take(limits, 0.0)[0] is None


def test_a_chat_still_in_its_window_is_skipped_and_its_time_is_told() -> None:
    run = SimpleNamespace(priority="normal")
    limits = AccountLimits(LimitSettings(account_rate=0))
    limits.start(1, ChatKind.PRIVATE)
    limits.answered(1, 10.0)
    queue = ReadyQueue()
    queue.push(job(run, 1))
    queue.push(job(run, 2))
    first, _ = queue.take(limits, 10.2)
    assert first is not None and first.target.chat_id == 2
    nothing, at = queue.take(limits, 10.2)
    assert nothing is None and at == 11.0
    later, _ = queue.take(limits, 11.0)
    assert later is not None and later.target.chat_id == 1


def test_retries_wait_for_their_time() -> None:
    run = SimpleNamespace(priority="normal")
    limits = AccountLimits(LimitSettings(account_rate=0))
    queue = ReadyQueue()
    queue.push_later(job(run, 1), at=5.0)
    assert queue.take(limits, 4.0) == (None, 5.0)
    assert queue.take(limits, 5.0)[0] is not None


def test_a_halted_run_takes_its_waiting_deliveries_back() -> None:
    stopped, going = SimpleNamespace(priority="normal"), SimpleNamespace(priority="normal")
    queue = ReadyQueue()
    queue.push(job(stopped, 1))
    queue.push(job(going, 2))
    queue.push_later(job(stopped, 3), at=9.0)
    removed = queue.remove_run(stopped)  # type: ignore[arg-type]
    assert sorted(j.target.chat_id for j in removed) == [1, 3]
    assert len(queue) == 1


def test_a_recipients_next_message_comes_from_the_account_that_sent_the_first() -> None:
    run = SimpleNamespace(priority="normal")
    limits = AccountLimits(LimitSettings(account_rate=0))
    queue = ReadyQueue()
    queue.accounts = {"a", "b"}
    pinned = job(run, 1)
    pinned.account = "a"
    queue.push(pinned)
    assert queue.take(limits, 0.0, "b")[0] is None
    assert queue.take(limits, 0.0, "a")[0] is pinned
    # Once "a" is no longer driven here, any account may go on with the conversation.
    queue.push(pinned)
    queue.accounts.discard("a")
    assert queue.take(limits, 0.0, "b")[0] is pinned
