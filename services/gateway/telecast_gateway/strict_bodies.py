"""JSON bodies are decoded strictly: a value of the wrong JSON type is refused (400).

Litestar converts a body to the handler's type leniently (``strict=False``), so ``"100"``
passed for a number, ``"true"`` for a boolean and a Unix time (``0``) for a date-time:
requests the OpenAPI document calls invalid were accepted, and a typo changed a value
instead of being refused. This decodes the body once more, strictly, before the handler
runs; the lenient decode only ever sees bodies that pass. As in JSON Schema, a number with
no fraction (``5.0``) is an integer.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

_JSON = "application/json"


async def decode_strictly(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook: refuse a JSON body that its type accepts only leniently."""
    field = request.route_handler.parsed_data_field
    if field is None or request.content_type[0] != _JSON:
        return
    body = await request.body()
    if not body:
        # An optional body left out; a required one is refused by Litestar.
        return
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        # Malformed JSON: Litestar's own decode refuses it, in its words.
        return
    try:
        msgspec.convert(_integers(value), type=field.annotation, strict=True)
    except msgspec.ValidationError as error:
        message, _, path = str(error).partition(" - at `$")
        key = path.rstrip("`").lstrip(".") or "body"
        raise ValidationException(
            detail=str(error),
            extra=[{"key": key, "source": "body", "message": message}],
        ) from None


def _integers(value: Any) -> Any:
    """``value`` with each whole float (``5.0``) an int, which a float field takes too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integers(item) for item in value]
    if isinstance(value, dict):
        return {key: _integers(item) for key, item in value.items()}
    return value
