"""What the dispatcher tells about its sending capacity, over NATS request/reply
(``<ns>.query.sending.capacity``): the gateway estimates when an execution completes from it."""

from __future__ import annotations

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.messages import Request


class GetSendingCapacity(Request, tag="sending.capacity"):
    """Answered by every dispatcher replica that sends (not with ``SENDING_ENABLED=false``)."""


class SendingCapacity(Wire, kw_only=True):
    """The accounts that can send (configured and not retired) and their summed rate in
    messages per second; ``rate`` is None when an account has no limit (the simulator with
    ``TELEGRAM_BOT_RATE=0``), so no time can be estimated."""

    accounts: int
    rate: float | None = None
