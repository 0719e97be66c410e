"""The answer to a request over NATS request/reply (queries, audience and dispatcher
requests): one shape for every service. Commands to the campaign service answer with
``CommandReply`` (a ``result`` with the event store's position) instead."""

from __future__ import annotations

from typing import Generic

from telecast_libs.contracts.base import T, Wire
from telecast_libs.contracts.errors import ErrorBody


class Reply(Wire, Generic[T]):
    """A request's answer: ``data`` on success, ``error`` otherwise."""

    ok: bool
    data: T | None = None
    error: ErrorBody | None = None
