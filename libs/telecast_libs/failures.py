"""How a request that failed on something other than a ``Problem`` is answered.

An outage (PostgreSQL down, restarting, out of connections, a statement cancelled) is
``SERVICE_UNAVAILABLE``: the same request may work in a moment. Anything else is a bug
(``INTERNAL_ERROR``): a retry meets it again, so it must not be reported as an outage, and
it is logged with its traceback under the request's correlation id.
"""

from __future__ import annotations

from typing import Any

import eventsourcing.persistence
import psycopg

from telecast_libs.contracts.errors import ErrorBody, ErrorCode
from telecast_libs.log import get_logger

log = get_logger(__name__)

# What PostgreSQL being away raises, through psycopg or through the eventsourcing library.
OUTAGES: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    eventsourcing.persistence.OperationalError,
    eventsourcing.persistence.InterfaceError,
)


def is_outage(error: BaseException) -> bool:
    return isinstance(error, OUTAGES)


def failure_body(error: Exception, event: str, unavailable: str, **ids: Any) -> ErrorBody:
    """Log ``error`` (``<event>.unavailable``, or ``<event>.failed`` with the traceback)
    with ``ids`` (what the request was about), and the error to answer with."""
    if is_outage(error):
        log.error(f"{event}.unavailable", error=repr(error), **ids)
        return ErrorBody(ErrorCode.SERVICE_UNAVAILABLE, unavailable)
    log.error(f"{event}.failed", exc_info=error, **ids)
    return ErrorBody(
        ErrorCode.INTERNAL_ERROR,
        "the service failed on this request; the error is logged with its correlation id",
    )
