"""JSON bodies are decoded strictly: a value of the wrong JSON type is refused (400).

Litestar converts a body to the handler's type leniently (``strict=False``), so ``"100"``
passed for a number, ``"true"`` for a boolean and a Unix time (``0``) for a date-time:
requests the OpenAPI document calls invalid were accepted, and a typo changed a value
instead of being refused. This decodes the body once more, strictly, before the handler
runs; the lenient decode only ever sees bodies that pass. As in JSON Schema, a number with
no fraction (``5.0``) is an integer.

Two values that JSON allows and PostgreSQL cannot store are refused here too, before any
service records them: a NUL character in text, and a time whose UTC offset is beyond
±15:59 (RFC 3339 allows ``+22:08``; real time zones stay within ±14:00). Recorded, either
would stop the projection at that event, for everyone. A NUL in a query or path parameter
is refused the same way (a search for one failed in PostgreSQL, a 500).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

_JSON = "application/json"


async def decode_strictly(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook: refuse a parameter holding a NUL, and a JSON body that its
    type accepts only leniently."""
    _refuse_nul_parameters(request)
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
        decoded = msgspec.convert(_integers(value), type=field.annotation, strict=True)
    except msgspec.ValidationError as error:
        message, _, path = str(error).partition(" - at `$")
        key = path.rstrip("`").lstrip(".") or "body"
        raise ValidationException(
            detail=str(error),
            extra=[{"key": key, "source": "body", "message": message}],
        ) from None
    problem = _unstorable(decoded, "body")
    if problem is not None:
        key, message = problem
        raise ValidationException(
            detail=f"{key}: {message}", extra=[{"key": key, "source": "body", "message": message}]
        )


def _refuse_nul_parameters(request: Request[Any, Any, Any]) -> None:
    parameters = [("query", key, value) for key, value in request.query_params.multi_items()] + [
        ("path", key, value) for key, value in request.path_params.items()
    ]
    for source, key, value in parameters:
        if isinstance(value, str) and "\x00" in value:
            message = "must not contain a NUL character"
            raise ValidationException(
                detail=f"{key}: {message}",
                extra=[{"key": key, "source": source, "message": message}],
            )


_MAX_OFFSET = timedelta(hours=15, minutes=59)


def _unstorable(value: Any, path: str) -> tuple[str, str] | None:
    """The first value PostgreSQL cannot store, as (where, why), or None."""
    if isinstance(value, str):
        return (path, "text must not contain a NUL character") if "\x00" in value else None
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is not None and abs(offset) > _MAX_OFFSET:
            return path, "a time's UTC offset must be within ±15:59 (write it in UTC: Z)"
        return None
    if isinstance(value, msgspec.Struct):
        names = dict(zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True))
        items: Any = ((names[name], getattr(value, name)) for name in value.__struct_fields__)
    elif isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = ((f"[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for key, item in items:
        found = _unstorable(item, f"{path}{key}" if str(key).startswith("[") else f"{path}.{key}")
        if found is not None:
            return found
    return None


def _integers(value: Any) -> Any:
    """``value`` with each whole float (``5.0``) an int, which a float field takes too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integers(item) for item in value]
    if isinstance(value, dict):
        return {key: _integers(item) for key, item in value.items()}
    return value
