"""What the simulator answers: the error mix and Telegram's limits. Pure: no I/O.

Times are integer microseconds since the epoch, so that the windows checked here and the
accept times recorded in PostgreSQL are the same numbers.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

SECOND = 1_000_000
MINUTE = 60 * SECOND
# Accepted sends between two sweeps of the per-chat windows.
SWEEP_EVERY = 50_000

# Telegram's RPC code for the error ids the simulator answers (anything else: 400).
STATUS = {
    "FLOOD_WAIT_X": 420,
    "ACCESS_TOKEN_INVALID": 401,
    "CHAT_WRITE_FORBIDDEN": 403,
    "USER_PRIVACY_RESTRICTED": 403,
    "CHAT_ADMIN_REQUIRED": 400,
    "RPC_CALL_FAIL": 500,
    "INTERNAL_SERVER_ERROR": 500,
}
# Errors drawn at random per attempt (Telegram's trouble); the others are the recipient's
# and a function of the chat.
TRANSIENT = frozenset({"RPC_CALL_FAIL", "INTERNAL_SERVER_ERROR"})


def status_of(error: str) -> int:
    return STATUS.get(error, 400)


def parse_error_mix(text: str) -> dict[str, float]:
    """``"USER_IS_BLOCKED=0.02,RPC_CALL_FAIL=0.01"`` -> ``{"USER_IS_BLOCKED": 0.02, …}``."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        try:
            fraction = float(value)
        except ValueError:
            fraction = -1.0
        if not sep or not name or not 0 <= fraction <= 1:
            raise ValueError(f"expected ERROR_ID=fraction (0 to 1), got {part!r}")
        mix[name] = fraction
    return mix


def _uniform(chat_id: int, error: str) -> float:
    digest = hashlib.blake2b(f"{chat_id}:{error}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def expected_refusal(chat_id: int, mix: Mapping[str, float] | str) -> str | None:
    """The permanent error this chat answers every send with under ``mix``, or None.

    Each of the mix's recipient errors, in the mix's order, hits a chat when a hash of
    (chat id, error id) falls under its fraction; transient errors are not predicted."""
    if isinstance(mix, str):
        mix = parse_error_mix(mix)
    for error, fraction in mix.items():
        if error not in TRANSIENT and _uniform(chat_id, error) < fraction:
            return error
    return None


def ceil_seconds(microseconds: int) -> int:
    """Whole seconds covering a wait, at least 1."""
    return max(1, math.ceil(microseconds / SECOND))


class Rules(msgspec.Struct, rename="camel", kw_only=True):
    """The settings ``control configure`` may replace at run time. Limits: 0 = unlimited."""

    account_rate: int = 30
    private_chat_rate: int = 1
    group_rate_per_minute: int = 20
    latency_ms: float = 5.0
    jitter_ms: float = 2.0
    error_mix: dict[str, float] = {}
    read_rate: float = 0.0
    click_rate: float = 0.0
    not_admin_chats: list[int] = []

    def replaced(self, changes: Mapping[str, Any]) -> Rules:
        changes = dict(changes)
        if isinstance(changes.get("errorMix"), str):
            changes["errorMix"] = parse_error_mix(changes["errorMix"])
        merged = {**msgspec.to_builtins(self), **changes}
        return msgspec.convert(merged, Rules)

    def latency(self, rng: random.Random) -> float:
        """Seconds this request is processed for before it is answered."""
        ms = self.latency_ms + (
            rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0
        )
        return max(0.0, ms) / 1000


@dataclass(slots=True)
class Refusal:
    error: str
    value: int | None = None
    over_limit: bool = False
    # "account_flood" | "chat_flood" when the request broke a flood wait it was told of.
    violation: str | None = None

    @property
    def status(self) -> int:
        return status_of(self.error)


@dataclass(slots=True)
class _Window:
    size: int
    length: int
    times: deque[int] = field(default_factory=deque)

    def wait(self, now: int) -> int:
        """Microseconds until one more send fits, 0 if it fits now."""
        if self.size <= 0:
            return 0
        times = self.times
        while times and times[0] <= now - self.length:
            times.popleft()
        if len(times) < self.size:
            return 0
        return times[-self.size] + self.length - now


class Limits:
    """Accept times per account and per (account, chat), and the flood waits announced."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._accounts: dict[str, _Window] = {}
        self._chats: dict[tuple[str, int], _Window] = {}
        self.account_flood_until: dict[str, int] = {}
        self.chat_flood_until: dict[tuple[str, int], int] = {}
        self.injected: dict[str, float] = {}
        self.peer_flood: set[str] = set()
        self._recorded = 0

    def configure(self, rules: Rules) -> None:
        self.rules = rules
        for window in self._accounts.values():
            window.size = rules.account_rate
        for window in self._chats.values():
            private = window.length == SECOND
            window.size = rules.private_chat_rate if private else rules.group_rate_per_minute

    def reset(self, account: str | None = None) -> None:
        def keep(key: str) -> bool:
            return account is not None and key != account

        self._accounts = {k: w for k, w in self._accounts.items() if keep(k)}
        self._chats = {k: w for k, w in self._chats.items() if keep(k[0])}
        self.account_flood_until = {k: v for k, v in self.account_flood_until.items() if keep(k)}
        self.chat_flood_until = {k: v for k, v in self.chat_flood_until.items() if keep(k[0])}
        self.injected = {k: v for k, v in self.injected.items() if keep(k)}
        self.peer_flood = {k for k in self.peer_flood if keep(k)}

    def on_arrival(self, account: str, chat_id: int, now: int) -> Refusal | None:
        """A send that arrives while a flood wait we announced runs is a violation."""
        if account in self.peer_flood:
            return Refusal("PEER_FLOOD")
        return self._flooded(account, chat_id, now, violation=True)

    def _flooded(self, account: str, chat_id: int, now: int, *, violation: bool) -> Refusal | None:
        until = self.account_flood_until.get(account, 0)
        kind = "account_flood"
        chat_until = self.chat_flood_until.get((account, chat_id), 0)
        if chat_until > until:
            until, kind = chat_until, "chat_flood"
        if until > now:
            return Refusal(
                "FLOOD_WAIT_X",
                ceil_seconds(until - now),
                over_limit=True,
                violation=kind if violation else None,
            )
        return None

    def on_accept(self, account: str, chat_id: int, chat_kind: str, now: int) -> Refusal | None:
        """At the accept time ``now`` (after the latency): refuse, or take the send into
        the windows."""
        if account in self.peer_flood:
            return Refusal("PEER_FLOOD")
        injected = self.injected.pop(account, None)
        if injected is not None:
            self.account_flood_until[account] = now + int(injected * SECOND)
            return Refusal("FLOOD_WAIT_X", math.ceil(injected), over_limit=False)
        # A flood wait announced while this request was on its way: not its fault.
        flooded = self._flooded(account, chat_id, now, violation=False)
        if flooded is not None:
            return flooded
        rules = self.rules
        account_window = self._accounts.get(account)
        if account_window is None:
            account_window = self._accounts[account] = _Window(rules.account_rate, SECOND)
        wait = account_window.wait(now)
        if wait:
            seconds = ceil_seconds(wait)
            self.account_flood_until[account] = now + seconds * SECOND
            return Refusal("FLOOD_WAIT_X", seconds, over_limit=True)
        key = (account, chat_id)
        chat_window = self._chats.get(key)
        if chat_window is None:
            if chat_kind == "private":
                chat_window = _Window(rules.private_chat_rate, SECOND)
            else:
                chat_window = _Window(rules.group_rate_per_minute, MINUTE)
            self._chats[key] = chat_window
        wait = chat_window.wait(now)
        if wait:
            seconds = ceil_seconds(wait)
            self.chat_flood_until[key] = now + seconds * SECOND
            return Refusal("FLOOD_WAIT_X", seconds, over_limit=True)
        return None

    def record(self, account: str, chat_id: int, now: int) -> None:
        """The send was accepted at ``now``."""
        if self.rules.account_rate > 0:
            self._accounts[account].times.append(now)
        window = self._chats[(account, chat_id)]
        if window.size > 0:
            window.times.append(now)
        self._recorded += 1
        if self._recorded % SWEEP_EVERY == 0:
            self.sweep(now)

    def sweep(self, now: int) -> None:
        """Forget chats whose windows and flood waits are over: memory stays bounded by the
        chats of the last minute, not the audience."""
        self._chats = {
            key: window
            for key, window in self._chats.items()
            if window.times and window.times[-1] > now - window.length
        }
        self.chat_flood_until = {k: t for k, t in self.chat_flood_until.items() if t > now}


def draw_refusal(chat_id: int, rules: Rules, rng: random.Random) -> Refusal | None:
    """The error mix's answer to one attempt: the chat's permanent error, or a transient
    one drawn at random, or None (accepted)."""
    if not rules.error_mix:
        return None
    permanent = expected_refusal(chat_id, rules.error_mix)
    if permanent is not None:
        return Refusal(permanent)
    for error, fraction in rules.error_mix.items():
        if error in TRANSIENT and rng.random() < fraction:
            return Refusal(error)
    return None
