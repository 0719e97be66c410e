"""The one base struct every contract derives from, and the JSON codec."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


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
