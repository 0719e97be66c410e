"""The Telegram simulator's wire protocol, shared by the simulator and its clients.

TCP; each frame is a 4-byte big-endian length, then a msgpack map tagged by ``op``.
Requests (``send``, ``invite``, ``control``) carry an integer ``id`` that their answer
(``ok`` or ``refused``) echoes; many requests may be in flight on one connection and
answers may come out of order. ``receipt`` frames come from the server unasked.

``Connection`` is the client side: a pipelined connection matching answers to requests.
"""

from __future__ import annotations

import asyncio
import itertools
import struct
from collections.abc import Callable
from typing import Any

import msgspec

_LENGTH = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024


class _Frame(msgspec.Struct, tag_field="op", rename="camel", omit_defaults=True):
    pass


class Send(_Frame, tag="send", kw_only=True):
    id: int
    account: str
    chat_id: int
    chat_kind: str = "private"
    text: str = ""
    parse_mode: str | None = None
    buttons: list[list[dict[str, str]]] = []
    media: dict[str, Any] | None = None
    reference: str = ""
    correlation_id: str | None = None


class Invite(_Frame, tag="invite", kw_only=True):
    id: int
    account: str
    chat_id: int
    name: str | None = None
    expire_date: float | None = None
    member_limit: int | None = None
    join_request: bool = False


class Control(_Frame, tag="control", kw_only=True):
    """``action``: ``floodWait`` (``account``, ``flood_wait`` seconds), ``peerFlood``
    (``account``), ``reset`` (forget flood state and windows; of ``account`` or all),
    ``configure`` (``settings``: the rules to replace, by their camelCase names),
    ``counters``."""

    id: int
    action: str
    account: str | None = None
    flood_wait: float | None = None
    settings: dict[str, Any] | None = None


class Ok(_Frame, tag="ok", kw_only=True):
    id: int
    message_id: int | None = None
    at: float | None = None
    link: str | None = None
    data: dict[str, Any] | None = None


class Refused(_Frame, tag="refused", kw_only=True):
    id: int
    error: str
    status: int
    value: int | None = None


class Receipt(_Frame, tag="receipt", kw_only=True):
    account: str
    chat_id: int
    message_id: int
    kind: str
    at: float
    url: str | None = None


Request = Send | Invite | Control
ServerFrame = Ok | Refused | Receipt

_encoder = msgspec.msgpack.Encoder()
request_decoder = msgspec.msgpack.Decoder(Request)
server_frame_decoder = msgspec.msgpack.Decoder(ServerFrame)


def encode(frame: _Frame) -> bytes:
    """The frame with its length prefix."""
    body = _encoder.encode(frame)
    return _LENGTH.pack(len(body)) + body


class FrameBuffer:
    """Bytes in, whole frame bodies out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        buffer = self._buffer
        start = 0
        while len(buffer) - start >= 4:
            (size,) = _LENGTH.unpack_from(buffer, start)
            if size > MAX_FRAME:
                raise ValueError(f"frame of {size} bytes")
            end = start + 4 + size
            if len(buffer) < end:
                break
            frames.append(bytes(buffer[start + 4 : end]))
            start = end
        if start:
            del buffer[:start]
        return frames


class ConnectionLost(Exception):
    """The connection closed before the answer came."""


class Connection:
    """A client connection: ``request`` sends a frame with a fresh id and awaits its answer;
    receipts go to ``on_receipt``."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_receipt: Callable[[Receipt], None] | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_receipt = on_receipt
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Ok | Refused]] = {}
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reading = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls, host: str, port: int, on_receipt: Callable[[Receipt], None] | None = None
    ) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, on_receipt)

    @property
    def is_open(self) -> bool:
        return not self.closed.done()

    def submit(self, make: Callable[[int], Request]) -> asyncio.Future[Ok | Refused]:
        """Write the request ``make(id)`` now; the future is its answer. Raises
        ``ConnectionLost`` if the connection is closed (nothing was written)."""
        if self.closed.done():
            raise ConnectionLost("not connected")
        request_id = next(self._ids)
        future: asyncio.Future[Ok | Refused] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._writer.write(encode(make(request_id)))
        return future

    async def request(self, make: Callable[[int], Request]) -> Ok | Refused:
        return await self.submit(make)

    def forget(self, future: asyncio.Future[Ok | Refused]) -> None:
        """Stop waiting for an answer (after a timeout)."""
        for request_id, pending in list(self._pending.items()):
            if pending is future:
                del self._pending[request_id]
                break

    async def close(self) -> None:
        self._writer.close()
        await asyncio.gather(self._reading, return_exceptions=True)

    async def _read(self) -> None:
        frames = FrameBuffer()
        try:
            while True:
                data = await self._reader.read(1 << 16)
                if not data:
                    break
                for body in frames.feed(data):
                    frame = server_frame_decoder.decode(body)
                    if isinstance(frame, Receipt):
                        if self._on_receipt is not None:
                            self._on_receipt(frame)
                        continue
                    future = self._pending.pop(frame.id, None)
                    if future is not None and not future.done():
                        future.set_result(frame)
        except (OSError, ValueError, msgspec.DecodeError):
            pass
        finally:
            pending, self._pending = self._pending, {}
            for future in pending.values():
                if not future.done():
                    future.set_exception(ConnectionLost("connection lost"))
            if not self.closed.done():
                self.closed.set_result(None)
            self._writer.close()
