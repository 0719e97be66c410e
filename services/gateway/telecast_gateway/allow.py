"""``OPTIONS`` answers an ``Allow`` naming every method of the path (an ASGI middleware).

Litestar 2 makes a path's OPTIONS handler when the path's first handler is registered and
keeps it as the path gains handlers, so its ``Allow`` names only the methods registered up
to then (``OPTIONS /api/v1/campaigns`` said ``OPTIONS, POST``, not ``GET``; litestar#4169,
fixed in Litestar 3). This puts the path's complete list in its place.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send


def complete_allow(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await app(scope, receive, send)
            return
        by_path = scope["app"].route_handler_method_map
        methods = {
            method
            for path in getattr(scope.get("route_handler"), "paths", ())
            for method in by_path.get(path, {})
        }

        async def send_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and methods:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                headers.append((b"allow", ", ".join(sorted(methods)).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_allow)

    return middleware
