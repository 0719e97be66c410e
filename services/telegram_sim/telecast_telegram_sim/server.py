"""The simulator's TCP server: answers ``send``, ``invite`` and ``control`` requests.

Each request is processed for the simulated latency (a timer, not a task), then decided at
its accept time by ``rules``; its row goes to the ``Recorder`` and the answer is written
once that row is committed.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import Counter
from typing import Any

import msgspec
from prometheus_client import Counter as PromCounter

from telecast_libs import simproto
from telecast_libs.log import get_logger
from telecast_telegram_sim.record import Recorder, timestamp
from telecast_telegram_sim.rules import Limits, Refusal, Rules, draw_refusal, status_of

log = get_logger(__name__)

ACCEPTED = PromCounter("telegram_sim_accepted", "Sends the simulator accepted and recorded")
REFUSED = PromCounter("telegram_sim_refused", "Sends the simulator refused", ["error"])
VIOLATIONS = PromCounter(
    "telegram_sim_violations", "Sends that arrived during an announced flood wait", ["kind"]
)


def now_us() -> int:
    return time.time_ns() // 1000


class Simulator:
    """Telegram as far as the dispatcher can tell, for every connected client."""

    def __init__(
        self,
        accounts: set[str],
        rules: Rules,
        recorder: Recorder,
        last_message_ids: dict[int, int],
        seed: int | None = None,
    ) -> None:
        self.accounts = accounts
        self.rules = rules
        self.limits = Limits(rules)
        self.recorder = recorder
        self._message_ids = last_message_ids
        self._rng = random.Random(seed)
        self.counters: Counter[str] = Counter()
        self.connections: set[SimulatorConnection] = set()
        self.in_flight = 0
        self._loop = asyncio.get_running_loop()

    # --- requests ----------------------------------------------------------------------

    def handle(self, request: simproto.Request, conn: SimulatorConnection) -> None:
        self.in_flight += 1
        if isinstance(request, simproto.Send):
            self._arrive(request, conn)
        elif isinstance(request, simproto.Invite):
            self._later(self._invite, request, conn)
        else:
            self._control(request, conn)

    def _later(self, step: Any, request: Any, conn: SimulatorConnection) -> None:
        delay = self.rules.latency(self._rng)
        if delay > 0:
            self._loop.call_later(delay, step, request, conn)
        else:
            step(request, conn)

    def _answer(self, conn: SimulatorConnection, frame: simproto.Ok | simproto.Refused) -> None:
        self.in_flight -= 1
        conn.write(frame)

    def _arrive(self, send: simproto.Send, conn: SimulatorConnection) -> None:
        if send.account not in self.accounts:
            self._refuse(send, conn, Refusal("ACCESS_TOKEN_INVALID"), now_us())
            return
        now = now_us()
        refusal = self.limits.on_arrival(send.account, send.chat_id, now)
        if refusal is not None:
            self._refuse(send, conn, refusal, now)
            return
        self._later(self._decide, send, conn)

    def _decide(self, send: simproto.Send, conn: SimulatorConnection) -> None:
        # The latency is spent: this is the accept time.
        now = now_us()
        limits = self.limits
        refusal = limits.on_accept(send.account, send.chat_id, send.chat_kind, now)
        if refusal is None:
            refusal = draw_refusal(send.chat_id, self.rules, self._rng)
        if refusal is not None:
            self._refuse(send, conn, refusal, now)
            return
        limits.record(send.account, send.chat_id, now)
        message_id = self._message_ids.get(send.chat_id, 0) + 1
        self._message_ids[send.chat_id] = message_id
        at = timestamp(now)
        row = (
            send.account,
            send.chat_id,
            send.chat_kind,
            message_id,
            send.text,
            send.parse_mode,
            msgspec.json.encode(send.buttons).decode(),
            None if send.media is None else msgspec.json.encode(send.media).decode(),
            send.reference,
            send.correlation_id,
            at,
        )
        answer = simproto.Ok(id=send.id, message_id=message_id, at=now / 1_000_000)

        def done(ok: bool) -> None:
            if ok:
                self.counters["accepted"] += 1
                ACCEPTED.inc()
                self._answer(conn, answer)
                self._maybe_receipts(send, message_id, conn)
            else:
                self._count_refusal("INTERNAL_SERVER_ERROR")
                self._answer(
                    conn, simproto.Refused(id=send.id, error="INTERNAL_SERVER_ERROR", status=500)
                )

        self.recorder.add("messages", row, done)

    def _count_refusal(self, error: str) -> None:
        self.counters[f"refused.{error}"] += 1
        REFUSED.labels(error).inc()

    def _refuse(
        self, send: simproto.Send, conn: SimulatorConnection, refusal: Refusal, now: int
    ) -> None:
        at = timestamp(now)
        self._count_refusal(refusal.error)
        if refusal.violation is not None:
            self.counters[f"violations.{refusal.violation}"] += 1
            VIOLATIONS.labels(refusal.violation).inc()
            detail = f"{refusal.value}s of flood wait left; reference {send.reference}"
            log.warning(
                "sim.violation",
                kind=refusal.violation,
                account=send.account,
                chat_id=send.chat_id,
                seconds_left=refusal.value,
            )
            self.recorder.add(
                "violations", (send.account, send.chat_id, refusal.violation, at, detail)
            )
        row = (
            send.account,
            send.chat_id,
            refusal.error,
            refusal.value,
            send.reference,
            at,
            refusal.over_limit,
        )
        answer = simproto.Refused(
            id=send.id, error=refusal.error, status=refusal.status, value=refusal.value
        )
        self.recorder.add("refusals", row, lambda _ok: self._answer(conn, answer))

    def _maybe_receipts(
        self, send: simproto.Send, message_id: int, conn: SimulatorConnection
    ) -> None:
        rules = self.rules
        if rules.read_rate and self._rng.random() < rules.read_rate:
            delay = self._rng.uniform(0.05, 0.5)
            self._loop.call_later(delay, self._receipt, send, message_id, "read", None, conn)
        if rules.click_rate:
            urls = [b["url"] for row in send.buttons for b in row if b.get("url")]
            if urls and self._rng.random() < rules.click_rate:
                delay = self._rng.uniform(0.1, 1.0)
                url = urls[0]
                self._loop.call_later(delay, self._receipt, send, message_id, "click", url, conn)

    def _receipt(
        self,
        send: simproto.Send,
        message_id: int,
        kind: str,
        url: str | None,
        conn: SimulatorConnection,
    ) -> None:
        now = now_us()
        frame = simproto.Receipt(
            account=send.account,
            chat_id=send.chat_id,
            message_id=message_id,
            kind=kind,
            at=now / 1_000_000,
            url=url,
        )
        row = (send.account, send.chat_id, message_id, kind, url, timestamp(now))

        def done(_ok: bool) -> None:
            # To the connection that sent the message, or any other if it is gone.
            targets = [conn] if conn.is_open else [c for c in self.connections if c.is_open][:1]
            for target in targets:
                target.write(frame)

        self.recorder.add("receipts", row, done)

    def _invite(self, invite: simproto.Invite, conn: SimulatorConnection) -> None:
        now = now_us()
        error = None
        if invite.account not in self.accounts:
            error = "ACCESS_TOKEN_INVALID"
        elif invite.chat_id in self.rules.not_admin_chats:
            error = "CHAT_ADMIN_REQUIRED"
        if error is not None:
            self._count_refusal(error)
            self._answer(conn, simproto.Refused(id=invite.id, error=error, status=status_of(error)))
            return
        link = f"https://t.me/+{secrets.token_urlsafe(12)}"
        expire = None if invite.expire_date is None else timestamp(int(invite.expire_date * 1e6))
        row = (
            invite.account,
            invite.chat_id,
            invite.name,
            expire,
            invite.member_limit,
            invite.join_request,
            link,
            timestamp(now),
        )

        def done(ok: bool) -> None:
            if ok:
                self._answer(conn, simproto.Ok(id=invite.id, link=link, at=now / 1_000_000))
            else:
                error = "INTERNAL_SERVER_ERROR"
                self._answer(conn, simproto.Refused(id=invite.id, error=error, status=500))

        self.recorder.add("invites", row, done)

    def _control(self, control: simproto.Control, conn: SimulatorConnection) -> None:
        data: dict[str, Any] = {}
        account = control.account
        if control.action == "floodWait" and account and control.flood_wait is not None:
            self.limits.injected[account] = control.flood_wait
        elif control.action == "peerFlood" and account:
            self.limits.peer_flood.add(account)
        elif control.action == "reset":
            self.limits.reset(account)
        elif control.action == "configure" and control.settings is not None:
            try:
                self.rules = self.rules.replaced(control.settings)
            except (msgspec.ValidationError, ValueError) as error:
                self._answer(
                    conn,
                    simproto.Refused(id=control.id, error=f"BAD_SETTINGS: {error}", status=400),
                )
                return
            self.limits.configure(self.rules)
            data = msgspec.to_builtins(self.rules)
            log.info("sim.configured", rules=data)
        elif control.action == "counters":
            data = dict(self.counters)
        else:
            self._answer(conn, simproto.Refused(id=control.id, error="BAD_CONTROL", status=400))
            return
        self._answer(conn, simproto.Ok(id=control.id, data=data))


class SimulatorConnection(asyncio.Protocol):
    """One client connection; requests are decoded as they arrive and answered in any
    order."""

    def __init__(self, simulator: Simulator) -> None:
        self._simulator = simulator
        self._frames = simproto.FrameBuffer()
        self._transport: asyncio.Transport | None = None
        self.is_open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.is_open = True
        self._simulator.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.is_open = False
        self._simulator.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        try:
            bodies = self._frames.feed(data)
            requests = [simproto.request_decoder.decode(body) for body in bodies]
        except (ValueError, msgspec.DecodeError) as error:
            log.warning("sim.bad_frame", error=repr(error))
            self.close()
            return
        for request in requests:
            self._simulator.handle(request, self)

    def write(self, frame: simproto.Ok | simproto.Refused | simproto.Receipt) -> None:
        if self.is_open and self._transport is not None:
            self._transport.write(simproto.encode(frame))

    def pause(self) -> None:
        if self._transport is not None and self.is_open:
            self._transport.pause_reading()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
