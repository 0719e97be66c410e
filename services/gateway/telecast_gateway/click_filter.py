"""Which followed links count as clicks.

Anyone holding a tracked link can follow it as often as they like; every follow still
redirects, but only the first from a client within ``window`` seconds is recorded, and a
client records at most ``per_minute`` clicks a minute across all links. So one link cannot
inflate a campaign's statistics, nor grow the interactions table without bound. A client is
its address and user agent. The memory is this gateway replica's (bounded), so with N
replicas a click may be recorded up to N times: still bounded.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

_MAX_ENTRIES = 100_000


class ClickFilter:
    def __init__(self, window: float = 600.0, per_minute: int = 30) -> None:
        self.window = window
        self.per_minute = per_minute
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._minute: dict[str, tuple[int, int]] = {}

    def admit(self, token: str, client: str) -> bool:
        """True if this follow is to be recorded as a click."""
        now = time.monotonic()
        key = hashlib.sha256(f"{client}\n{token}".encode()).digest()
        last = self._seen.get(key)
        if last is not None and now - last < self.window:
            return False
        minute = int(now // 60)
        current, count = self._minute.get(client, (minute, 0))
        if current != minute:
            count = 0
        if count >= self.per_minute:
            return False
        if len(self._minute) >= _MAX_ENTRIES:
            self._minute.clear()
        self._minute[client] = (minute, count + 1)
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > _MAX_ENTRIES:
            self._seen.popitem(last=False)
        return True
