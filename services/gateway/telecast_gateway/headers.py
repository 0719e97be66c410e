"""Security headers on every answer.

The API answers JSON only: a browser must neither sniff it as something else, frame it,
run anything from it, nor send the page's address along. Behind TLS (the request's scheme
is https, also as a reverse proxy reports it in X-Forwarded-Proto), browsers are told to
use TLS only. The schema's documentation pages (``/schema``, development by default) load
their scripts from a CDN and so get no Content-Security-Policy; the console's pages bring
their own (``console.py``), which this leaves in place.
"""

from __future__ import annotations

from litestar.types import Message, Scope

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


async def security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: it sees every answer, the ones made by the authentication
    and the exception handlers included."""
    if message["type"] != "http.response.start":
        return
    extra = list(_ALWAYS)
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
    has_policy = any(k.lower() == _CSP[0] for k, _ in headers)
    if not scope["path"].startswith("/schema") and not has_policy:
        extra.append(_CSP)
    if scope.get("scheme") == "https":
        extra.append(_HSTS)
    message["headers"] = headers + extra  # type: ignore[typeddict-unknown-key]
