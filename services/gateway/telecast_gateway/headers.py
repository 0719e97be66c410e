"""Security headers on every answer (an ASGI middleware).

The API answers JSON only: a browser must neither sniff it as something else, frame it,
run anything from it, nor send the page's address along. Behind TLS (the request's scheme
is https, also as a reverse proxy reports it in X-Forwarded-Proto), browsers are told to
use TLS only. The schema's documentation pages (``/schema``, development by default) load
their scripts from a CDN and so get no Content-Security-Policy.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def security_headers(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        extra = list(_ALWAYS)
        if not scope["path"].startswith("/schema"):
            extra.append(_CSP)
        if scope.get("scheme") == "https":
            extra.append(_HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"server"
                ]
                message = {**message, "headers": headers + extra}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
