"""structlog setup: JSON lines in services, pretty in a terminal, with a correlation id.

The correlation id lives in a context variable bound by whoever starts a unit of work (the
gateway per HTTP request, a service per NATS message) and rides between services in the
``Correlation-Id`` NATS header.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import structlog

CORRELATION_HEADER = "Correlation-Id"


def configure_logging(service: str, log_format: str = "auto", level: str = "info") -> None:
    renderer: structlog.typing.Processor
    if log_format == "console" or (log_format == "auto" and sys.stderr.isatty()):
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries log through the standard library; route their warnings to stderr too.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(message)s")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("correlation_id")


@contextmanager
def correlation(correlation_id: str | None) -> Iterator[str]:
    """Bind a correlation id (a new one when None) for the duration of a unit of work."""
    cid = correlation_id or new_correlation_id()
    with structlog.contextvars.bound_contextvars(correlation_id=cid):
        yield cid


def correlation_from_headers(headers: Mapping[str, str] | None) -> str | None:
    return (headers or {}).get(CORRELATION_HEADER)


def get_logger(name: str | None = None) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
