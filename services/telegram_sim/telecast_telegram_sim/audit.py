"""Reading the simulator's record back, for tests and benchmarks: what was accepted, what
was sent twice, and whether every sliding window of Telegram's limits was respected."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from telecast_telegram_sim.record import EPOCH, SCHEMA
from telecast_telegram_sim.rules import MINUTE, SECOND


@dataclass(frozen=True, slots=True)
class SentRow:
    account: str
    chat_id: int
    chat_kind: str
    accepted_at: datetime


@dataclass(frozen=True, slots=True)
class WindowViolation:
    """More than ``limit`` sends accepted within one window ending at ``end``."""

    kind: str  # "account" | "private_chat" | "group"
    account: str
    chat_id: int | None
    start: datetime
    end: datetime
    count: int
    limit: int


def _microseconds(at: datetime) -> int:
    return (at - EPOCH) // (datetime.resolution)


def _window_breaches(
    times: list[datetime], length: int, limit: int
) -> Iterable[tuple[datetime, datetime, int]]:
    """Each accept time at which more than ``limit`` sends fall in (t - length, t]."""
    ordered = sorted(times)
    micros = [_microseconds(t) for t in ordered]
    left = 0
    for right, now in enumerate(micros):
        while micros[left] <= now - length:
            left += 1
        count = right - left + 1
        if count > limit:
            yield ordered[left], ordered[right], count


def limit_violations(
    rows: Iterable[SentRow],
    per_account: int,
    private_per_second: int,
    group_per_minute: int,
) -> list[WindowViolation]:
    """Every sliding window in which the accepted sends exceed a limit (0 = unlimited):
    ``per_account`` in any 1 s, ``private_per_second`` to one private chat in any 1 s,
    ``group_per_minute`` to one group or channel in any 60 s. Empty means obeyed."""
    by_account: dict[str, list[datetime]] = defaultdict(list)
    by_chat: dict[tuple[str, int, bool], list[datetime]] = defaultdict(list)
    for row in rows:
        by_account[row.account].append(row.accepted_at)
        by_chat[(row.account, row.chat_id, row.chat_kind == "private")].append(row.accepted_at)
    found: list[WindowViolation] = []
    if per_account > 0:
        for account, times in by_account.items():
            for start, end, count in _window_breaches(times, SECOND, per_account):
                found.append(
                    WindowViolation("account", account, None, start, end, count, per_account)
                )
    for (account, chat_id, private), times in by_chat.items():
        kind, length, limit = (
            ("private_chat", SECOND, private_per_second)
            if private
            else ("group", MINUTE, group_per_minute)
        )
        if limit > 0:
            for start, end, count in _window_breaches(times, length, limit):
                found.append(WindowViolation(kind, account, chat_id, start, end, count, limit))
    return found


async def sent_messages(
    database_url: str, where: str = "true", params: Sequence[object] = ()
) -> list[dict]:
    """The accepted messages (rows of ``telegram_sim.messages`` as dicts), in accept order;
    ``where`` narrows them (``"reference LIKE %s"``)."""
    async with await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row) as conn:
        cursor = await conn.execute(
            f"SELECT * FROM {SCHEMA}.messages WHERE {where} ORDER BY accepted_at, seq", params
        )
        return await cursor.fetchall()


def sent_rows(messages: Iterable[dict]) -> list[SentRow]:
    return [SentRow(m["account"], m["chat_id"], m["chat_kind"], m["accepted_at"]) for m in messages]


def duplicates_by_reference(messages: Iterable[dict]) -> dict[str, int]:
    """References accepted more than once, with how many times."""
    counts: dict[str, int] = defaultdict(int)
    for m in messages:
        counts[m["reference"]] += 1
    return {reference: n for reference, n in counts.items() if n > 1}


def duplicates_by_text(messages: Iterable[dict]) -> dict[tuple[int, str], int]:
    """(chat id, text) pairs accepted more than once."""
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for m in messages:
        counts[(m["chat_id"], m["text"])] += 1
    return {key: n for key, n in counts.items() if n > 1}


async def recorded(
    database_url: str, table: str, where: str = "true", params: Sequence[object] = ()
) -> list[dict]:
    """Rows of ``refusals``, ``violations``, ``invites`` or ``receipts``."""
    if table not in ("refusals", "violations", "invites", "receipts", "messages"):
        raise ValueError(table)
    async with await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row) as conn:
        cursor = await conn.execute(
            f"SELECT * FROM {SCHEMA}.{table} WHERE {where} ORDER BY seq", params
        )
        return await cursor.fetchall()
