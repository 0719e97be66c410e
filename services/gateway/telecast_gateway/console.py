"""The web console (``console/``, a Vue application) served at ``/``.

Vite builds it into one folder (``CONSOLE_DIR``): ``index.html`` and, under ``assets/``,
files whose names carry a hash of their content. Those are cached for good (a new build has
new names); ``index.html`` never is, so a reload finds a new build at once. Every console
route answers ``index.html``, so that any screen can be bookmarked and reloaded. The routes
are named here rather than caught all: any other path (``/api/v1/nothing``, ``/metrics``)
still answers the API's JSON 404. Without a build, ``/`` says so and the API works as ever.

The console gets a Content-Security-Policy of its own: the API's (``headers.py``) allows
nothing at all, which would stop the page from loading its own scripts. This one allows
the console's own origin only: no inline script, nothing from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from litestar import MediaType, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

# The top-level paths of the console's router (console/src/router.ts); keep both in step.
ROUTES = [
    "/",
    "/login",
    "/dashboard",
    "/password",
    "/campaigns",
    "/campaigns/{rest:path}",
    "/contacts",
    "/segments",
    "/segments/{rest:path}",
    "/templates",
    "/templates/{rest:path}",
    "/webhooks",
    "/webhooks/{rest:path}",
    "/operators",
]
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
NOT_BUILT = (
    "The telecast console is not built here. Build it with Node.js 20 or newer: `make run` "
    "does, or `npm ci && npm run build` in console/ (the gateway looks in {directory}). "
    "The API works regardless, under /api/v1.\n"
)
# A year: the most the HTTP caches honour, and the names change with the content anyway.
_FOREVER = CacheControlHeader(max_age=31_536_000, public=True, immutable=True)


def default_console_dir() -> Path:
    """``console/dist`` of the checkout the gateway is installed from."""
    return Path(__file__).resolve().parents[3] / "console" / "dist"


def console_routes(directory: Path) -> list[ControllerRouterHandler]:
    """The handlers that serve the console built into ``directory``."""
    index = directory / "index.html"

    @get(ROUTES, include_in_schema=False, exclude_from_auth=True, sync_to_thread=False)
    def console_page() -> Response[bytes]:
        # Read on each request (a few hundred bytes): a new build needs no restart.
        if not index.is_file():
            return Response(
                NOT_BUILT.format(directory=directory).encode(),
                status_code=503,
                media_type=MediaType.TEXT,
                headers={"Cache-Control": "no-store"},
            )
        return Response(
            index.read_bytes(),
            media_type=MediaType.HTML,
            headers={"Cache-Control": "no-cache", "Content-Security-Policy": CONSOLE_CSP},
        )

    assets: Router = create_static_files_router(
        "/assets",
        directories=[directory / "assets"],
        cache_control=_FOREVER,
        opt={"exclude_from_auth": True},
        name="console_assets",
    )
    return [console_page, assets]
