"""Probes: ``/health`` (alive), ``/ready`` (dependencies answer). Metrics are served on the
operations port (``METRICS_PORT``), not here."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Response, get
from litestar.datastructures import State

from telecast_libs.ops import run_checks


@get(
    "/health",
    operation_id="checkHealth",
    tags=["operations"],
    summary="The process is alive",
    security=[],
)
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/ready",
    operation_id="checkReadiness",
    tags=["operations"],
    summary="PostgreSQL and NATS answer",
    security=[],
)
async def ready(state: State) -> Response[dict[str, Any]]:
    results = await run_checks(state.readiness_checks)
    is_ready = all(value == "ok" for value in results.values())
    return Response(
        {"ready": is_ready, "checks": results},
        status_code=200 if is_ready else 503,
        media_type=MediaType.JSON,
    )
