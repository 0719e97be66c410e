"""A real HTTP server on 127.0.0.1 that receives webhooks and records them.

It runs in a thread with its own event loop. Each path (``/<name>``) answers as its
``Script`` says, given the event and how many times that event came before; every request
is recorded with the status it was answered (None when the receiver never answered).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Answer:
    status: int = 200
    # Seconds to wait before answering (past the dispatcher's timeout: it gives up first).
    delay: float = 0.0
    body: str = "ok"


# (the request, how many times its event came to this path before) -> the answer.
Script = Callable[["Received", int], Answer]


def always(answer: Answer) -> Script:
    return lambda _request, _seen: answer


@dataclass
class Received:
    path: str
    event_id: str
    event_type: str
    signature: str
    delivery_id: str
    raw: bytes
    at: float
    status: int | None = None

    @property
    def body(self) -> dict:
        return json.loads(self.raw)


@dataclass
class Receiver:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    scripts: dict[str, Script] = field(default_factory=dict)
    # Requests being answered right now, at most, per path.
    concurrency: dict[str, int] = field(default_factory=dict)
    _active: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def on(self, path: str, script: Script) -> None:
        self.scripts[path] = script

    def at(self, path: str, status: int | None = 200) -> list[Received]:
        """What came to ``path`` (answered ``status``, or all with ``status=None``)."""
        return [
            r
            for r in list(self.received)
            if r.path == path and (status is None or r.status == status)
        ]

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        raw = await request.read()
        event_id = request.headers.get("X-Telecast-Event-Id", "")
        seen = sum(1 for r in list(self.received) if r.path == path and r.event_id == event_id)
        record = Received(
            path=path,
            event_id=event_id,
            event_type=request.headers.get("X-Telecast-Event-Type", ""),
            signature=request.headers.get("X-Telecast-Signature", ""),
            delivery_id=request.headers.get("X-Telecast-Delivery-Id", ""),
            raw=raw,
            at=time.monotonic(),
        )
        self.received.append(record)
        self._active[path] = self._active.get(path, 0) + 1
        self.concurrency[path] = max(self.concurrency.get(path, 0), self._active[path])
        try:
            answer = self.scripts.get(path, always(Answer()))(record, seen)
            if answer.delay:
                await asyncio.sleep(answer.delay)
            record.status = answer.status
            return web.Response(status=answer.status, text=answer.body)
        finally:
            self._active[path] -= 1


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    started = threading.Event()
    loop = asyncio.new_event_loop()
    runner: web.AppRunner | None = None

    async def start() -> None:
        nonlocal runner
        app = web.Application()
        app.router.add_post("/{path}", receiver._handle)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        receiver.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()
        if runner is not None:
            loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="webhook-receiver", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the webhook receiver did not start")
    try:
        yield receiver
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
