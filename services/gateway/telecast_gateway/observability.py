"""Per-request correlation ids, access logs and Prometheus metrics (an ASGI middleware)."""

from __future__ import annotations

import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from telecast_libs.log import correlation, get_logger

log = get_logger("telecast_gateway.access")

REQUESTS = Counter(
    "telecast_gateway_requests_total", "HTTP requests", ["method", "route", "status"]
)
LATENCY = Histogram("telecast_gateway_request_seconds", "HTTP request latency", ["method", "route"])

_QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})
REQUEST_HEADER = b"x-correlation-id"
RESPONSE_HEADER = b"x-correlation-id"


def observe(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_HEADER)
        # A caller's id is kept only if it is short and printable; otherwise a new one.
        supplied = given.decode("latin-1") if given and len(given) <= 128 else None
        if supplied and not supplied.isprintable():
            supplied = None
        started = time.perf_counter()
        status = 500
        with correlation(supplied) as correlation_id:

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = list(message.get("headers", []))
                    headers.append((RESPONSE_HEADER, correlation_id.encode()))
                    message = {**message, "headers": headers}
                await send(message)

            try:
                await app(scope, receive, send_with_id)
            finally:
                route = scope.get("path_template") or _route_of(scope)
                elapsed = time.perf_counter() - started
                REQUESTS.labels(scope["method"], route, str(status)).inc()
                LATENCY.labels(scope["method"], route).observe(elapsed)
                # Probes and scrapes arrive every few seconds: keep them out of the info log.
                emit = log.debug if scope["path"] in _QUIET_PATHS else log.info
                emit(
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round(elapsed * 1000, 2),
                )

    return middleware


def _route_of(scope: Scope) -> str:
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    return sorted(paths)[0] if paths else "unmatched"
