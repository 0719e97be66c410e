"""A tiny HTTP endpoint for services that otherwise speak only NATS.

``GET /health`` answers 200 while the process runs; ``GET /ready`` runs the service's
readiness checks (PostgreSQL, NATS, …) and answers 200 or 503 with what failed;
``GET /metrics`` serves Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from telecast_libs.log import get_logger

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]


async def run_checks(checks: Mapping[str, ReadinessCheck]) -> dict[str, str]:
    """Each check's result: ``ok`` or why it failed (within two seconds)."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), timeout=2.0)
            results[name] = "ok"
        except Exception as error:
            results[name] = f"failed: {type(error).__name__}"
    return results


async def serve_ops(
    host: str, port: int, checks: Mapping[str, ReadinessCheck]
) -> asyncio.AbstractServer:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else ""
            if path == "/health":
                status, body, ctype = 200, b'{"status":"ok"}', "application/json"
            elif path == "/ready":
                results = await run_checks(checks)
                ready = all(v == "ok" for v in results.values())
                status = 200 if ready else 503
                body = json.dumps({"ready": ready, "checks": results}).encode()
                ctype = "application/json"
            elif path == "/metrics":
                status, body, ctype = 200, generate_latest(), CONTENT_TYPE_LATEST
            else:
                status, body, ctype = 404, b'{"error":"not found"}', "application/json"
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except Exception as error:
            log.debug("ops.request_failed", error=repr(error))
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port)
    log.info("ops.listening", host=host, port=port)
    return server
