"""The one base struct every contract derives from, and the JSON codec."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

# Whitespace for a pattern's character class, spelled out: Python's \s (which msgspec's
# patterns use) and ECMA-262's (the OpenAPI document's readers') differ: Python's takes
# \x1c-\x1f and \x85 too, ECMA's takes \ufeff. These are Python's (``str.isspace``).
SPACE = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


class Wire(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=True):
    """Base of every message: camelCase field names, unknown fields refused."""


_encoder = msgspec.json.Encoder()


def encode(message: Any) -> bytes:
    return _encoder.encode(message)


def decode(data: bytes | str, type_: type[T]) -> T:
    return msgspec.json.decode(data, type=type_)


def to_builtins(message: Any) -> Any:
    """Plain dicts/lists/strings, camelCase keys: what events store and read models hold."""
    return msgspec.to_builtins(message)
