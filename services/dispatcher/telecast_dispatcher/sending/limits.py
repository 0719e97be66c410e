"""Telegram's send limits as the dispatcher keeps them: pure, the clock passed in.

A ``Window`` lets at most ``limit`` sends happen in any ``seconds``. Each send holds a slot
from the moment it starts until ``seconds`` after its answer arrived. Telegram counts a
message when it takes it, which is after our send starts and before its answer reaches
us; holding the slot from start to answer plus the window is therefore never early, however
long the way there and back takes (a window anchored at our own send time could overlap
Telegram's by the difference in latency). The cost: the window stretches by one round trip.

``AccountLimits`` combines an account's global window, a window per chat (1/s for a private
chat, 20/min for a group or channel) and a FloodWait: after Telegram asks an account (or a
chat) to wait N seconds, nothing is sent there until N seconds after the answer came.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from telecast_dispatcher.telegram.port import ChatKind


class Window:
    """At most ``limit`` sends in any ``seconds``."""

    __slots__ = ("_releases", "in_flight", "limit", "seconds")

    def __init__(self, limit: int, seconds: float) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError("a window needs a positive limit and length")
        self.limit = limit
        self.seconds = seconds
        self.in_flight = 0
        # When each answered send frees its slot (a heap: answers come in any order).
        self._releases: list[float] = []

    @classmethod
    def per_second(cls, rate: float) -> Window:
        """A window for ``rate`` sends per second: 30 -> 30 per 1 s; 0.5 -> 1 per 2 s."""
        if rate >= 1:
            return cls(math.floor(rate), 1.0)
        return cls(1, 1.0 / rate)

    def free_at(self, now: float) -> float:
        """When a send may start: ``now`` if a slot is free, else the time the next one
        frees (infinity while every slot is held by a send still waiting for its answer)."""
        releases = self._releases
        while releases and releases[0] <= now:
            heapq.heappop(releases)
        if self.in_flight + len(releases) < self.limit:
            return now
        return releases[0] if releases else math.inf

    def start(self) -> None:
        self.in_flight += 1

    def answered(self, now: float) -> None:
        self.in_flight -= 1
        heapq.heappush(self._releases, now + self.seconds)

    def idle(self, now: float) -> bool:
        """Nothing in flight and no slot held: the window can be forgotten."""
        return self.in_flight == 0 and self.free_at(now) == now and not self._releases


@dataclass(frozen=True)
class LimitSettings:
    """Sends per second for the account (0: no limit), per private chat and per group."""

    account_rate: float = 30.0
    private_chat_rate: float = 1.0
    group_per_minute: float = 20.0

    def account_window(self) -> Window | None:
        return Window.per_second(self.account_rate) if self.account_rate > 0 else None

    def chat_window(self, kind: ChatKind) -> Window | None:
        if kind is ChatKind.PRIVATE:
            rate = self.private_chat_rate
            return Window.per_second(rate) if rate > 0 else None
        if self.group_per_minute <= 0:
            return None
        per_minute = self.group_per_minute
        if per_minute >= 1:
            return Window(math.floor(per_minute), 60.0)
        return Window(1, 60.0 / per_minute)


@dataclass
class AccountLimits:
    """Everything that decides when an account may send to a chat."""

    settings: LimitSettings
    # Concurrent sends of one account when no rate limits it (the simulator, unthrottled).
    max_in_flight: int = 256
    flood_until: float = 0.0
    account: Window | None = None
    chats: dict[int, Window] = field(default_factory=dict)
    chat_waits: dict[int, float] = field(default_factory=dict)
    in_flight: int = 0

    def __post_init__(self) -> None:
        self.account = self.settings.account_window()

    def account_free_at(self, now: float) -> float:
        """When the account may start its next send, to any chat."""
        at = max(now, self.flood_until)
        if self.in_flight >= self.max_in_flight:
            return math.inf
        if self.account is not None:
            at = max(at, self.account.free_at(now))
        return at

    def chat_free_at(self, chat_id: int, kind: ChatKind, now: float) -> float:
        at = max(now, self.chat_waits.get(chat_id, 0.0))
        window = self.chats.get(chat_id)
        if window is not None:
            at = max(at, window.free_at(now))
        return at

    def start(self, chat_id: int, kind: ChatKind) -> None:
        self.in_flight += 1
        if self.account is not None:
            self.account.start()
        window = self.chats.get(chat_id)
        if window is None:
            window = self.settings.chat_window(kind)
            if window is None:
                return
            self.chats[chat_id] = window
        window.start()

    def answered(self, chat_id: int, now: float) -> None:
        self.in_flight -= 1
        if self.account is not None:
            self.account.answered(now)
        window = self.chats.get(chat_id)
        if window is not None:
            window.answered(now)

    def flood_wait(self, seconds: float, now: float) -> None:
        """Telegram asked the account to wait: exactly that long from its answer."""
        self.flood_until = max(self.flood_until, now + seconds)

    def chat_wait(self, chat_id: int, seconds: float, now: float) -> None:
        self.chat_waits[chat_id] = max(self.chat_waits.get(chat_id, 0.0), now + seconds)

    def forget_idle(self, now: float) -> None:
        """Drop the windows of chats with nothing pending (bounded memory over a long run)."""
        for chat_id in [c for c, w in self.chats.items() if w.idle(now)]:
            del self.chats[chat_id]
        for chat_id in [c for c, until in self.chat_waits.items() if until <= now]:
            del self.chat_waits[chat_id]
