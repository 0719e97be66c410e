"""The segment filter language: a JSON expression over contact fields.

An expression is ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": expr}`` or a predicate
``{"field": F, "op": OP, "value": V}``. ``parse`` validates it once (field, operator, value
type, depth, size) into a tree; two back-ends read that tree: ``matches`` here (Python) and
``audience.filter_sql.to_sql`` (PostgreSQL). Both follow the same two-valued semantics:

- a predicate on a missing value (a NULL column, an absent attribute) is false, except
  ``ne`` and ``nin``, which are exactly ``not eq`` and ``not in`` (so they match it);
- ``{"and": []}`` matches every contact, ``{"or": []}`` none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from telecast_campaign.domain.errors import ValidationFailed

# The grammar (fields, operators, limits), which the OpenAPI document states too.
from telecast_libs.contracts.segment_filter import (
    ATTRIBUTE,
    ATTRIBUTES,
    FIELDS,
    INT64,
    MAX_ATTRIBUTE_KEY,
    MAX_ATTRIBUTE_TEXT,
    MAX_DEPTH,
    MAX_NODES,
    MAX_PREDICATES,
    MAX_TEXT,
    MAX_VALUES,
    OPERATORS,
    RANGE,
    FieldSpec,
    Kind,
)

# The tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Predicate:
    """``field op value``. ``value`` is normalized: a tuple for lists, a datetime for times,
    ``(lo, hi)`` for between, a bool for exists. ``key`` names the attribute, if any."""

    field: str
    op: str
    value: Any
    spec: FieldSpec = field(compare=False, repr=False)
    key: str | None = None


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = And | Or | Not | Predicate

# Parsing ---------------------------------------------------------------------------------


def _refuse(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{path}: {message}", details=[{"field": path, "message": message}])


class _Parser:
    def __init__(self) -> None:
        self.predicates = 0
        self.nodes = 0

    def expr(self, raw: Any, path: str, depth: int) -> Expr:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _refuse(path, f"a filter holds at most {MAX_NODES} expressions")
        if not isinstance(raw, dict):
            raise _refuse(path, "must be an object: {and|or|not: …} or {field, op, value}")
        if depth > MAX_DEPTH:
            raise _refuse(path, f"nesting is deeper than {MAX_DEPTH} levels")
        combinators = [key for key in ("and", "or", "not") if key in raw]
        if combinators:
            (key,) = combinators[:1]
            if len(raw) != 1:
                raise _refuse(path, f"{key} must be the only key of its object")
            if key == "not":
                return Not(self.expr(raw["not"], f"{path}.not", depth + 1))
            items = raw[key]
            if not isinstance(items, list):
                raise _refuse(f"{path}.{key}", "must be a list of expressions")
            parsed = tuple(
                self.expr(item, f"{path}.{key}[{index}]", depth + 1)
                for index, item in enumerate(items)
            )
            return And(parsed) if key == "and" else Or(parsed)
        return self.predicate(raw, path)

    def predicate(self, raw: dict[str, Any], path: str) -> Predicate:
        unknown = sorted(set(raw) - {"field", "op", "value"})
        if unknown:
            raise _refuse(
                f"{path}.{unknown[0]}",
                "unknown key; an expression is {and|or|not: …} or {field, op, value}",
            )
        self.predicates += 1
        if self.predicates > MAX_PREDICATES:
            raise _refuse(path, f"a filter holds at most {MAX_PREDICATES} predicates")
        name, op = raw.get("field"), raw.get("op")
        if not isinstance(name, str):
            raise _refuse(f"{path}.field", "is required: a contact field name")
        spec, key = _field(name, f"{path}.field")
        if not isinstance(op, str) or op not in OPERATORS:
            raise _refuse(f"{path}.op", f"must be one of {', '.join(sorted(OPERATORS))}")
        if op not in spec.ops:
            raise _refuse(
                f"{path}.op",
                f"{op} does not apply to {name}; use one of {', '.join(sorted(spec.ops))}",
            )
        if op == "exists":
            value = raw.get("value", True)
            if not isinstance(value, bool):
                raise _refuse(f"{path}.value", "exists takes true or false")
            return Predicate(name, op, value, spec, key)
        if "value" not in raw:
            raise _refuse(f"{path}.value", "is required")
        value = _value(spec, op, raw["value"], f"{path}.value")
        return Predicate(name, op, value, spec, key)


def _field(name: str, path: str) -> tuple[FieldSpec, str | None]:
    if name.startswith(ATTRIBUTES):
        key = name.removeprefix(ATTRIBUTES)
        if not 1 <= len(key) <= MAX_ATTRIBUTE_KEY or "\x00" in key:
            raise _refuse(path, f"an attribute key is 1 to {MAX_ATTRIBUTE_KEY} characters")
        return ATTRIBUTE, key
    spec = FIELDS.get(name)
    if spec is None:
        raise _refuse(
            path, f"unknown field {name!r}; use one of {', '.join(FIELDS)} or attributes.<key>"
        )
    return spec, None


def _value(spec: FieldSpec, op: str, raw: Any, path: str) -> Any:
    if op in ("in", "nin", "any", "all"):
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_VALUES:
            raise _refuse(path, f"{op} takes a list of 1 to {MAX_VALUES} values")
        scalar_op = "eq"
        return tuple(_scalar(spec, scalar_op, item, f"{path}[{i}]") for i, item in enumerate(raw))
    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise _refuse(path, "between takes a list [lowest, highest]")
        low = _scalar(spec, op, raw[0], f"{path}[0]")
        high = _scalar(spec, op, raw[1], f"{path}[1]")
        if low > high:
            raise _refuse(path, "between needs lowest ≤ highest")
        return (low, high)
    return _scalar(spec, op, raw, path)


def _scalar(spec: FieldSpec, op: str, raw: Any, path: str) -> Any:
    kind = spec.kind
    if kind is Kind.INTEGER:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)  # as in JSON Schema, 5.0 is an integer
        if not _is_int(raw):
            raise _refuse(path, f"{spec.name} takes whole numbers")
        low, high = spec.bounds or INT64
        if not low <= raw <= high:
            raise _refuse(path, f"{spec.name} takes values from {low} to {high}")
        return raw
    if kind is Kind.BOOLEAN:
        if not isinstance(raw, bool):
            raise _refuse(path, f"{spec.name} takes true or false")
        return raw
    if kind is Kind.TIMESTAMP:
        return _timestamp(raw, path)
    if kind is Kind.ATTRIBUTE:
        return _attribute_value(op, raw, path)
    if not _is_text(raw, 1):
        raise _refuse(path, f"{spec.name} takes text of 1 to {MAX_TEXT} characters")
    if kind is Kind.CHOICE and raw not in spec.choices:
        raise _refuse(path, f"{spec.name} is one of {', '.join(sorted(spec.choices))}")
    if kind is Kind.COUNTRY:
        if len(raw) != 2 or not raw.isascii() or not raw.isalpha():
            raise _refuse(path, "location is a two-letter ISO country code")
        return raw.upper()
    return raw


def _is_text(raw: Any, shortest: int, longest: int = MAX_TEXT) -> bool:
    # PostgreSQL cannot hold U+0000 in text or jsonb.
    return isinstance(raw, str) and shortest <= len(raw) <= longest and "\x00" not in raw


def _is_int(raw: Any) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool)


def _is_number(raw: Any) -> bool:
    return (_is_int(raw) or isinstance(raw, float)) and raw == raw and abs(raw) != float("inf")


def _timestamp(raw: Any, path: str) -> datetime:
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str):
        try:
            # RFC 3339, as every time the API takes (``T`` and ``Z`` in either case).
            moment = msgspec.convert(raw, datetime)
        except msgspec.ValidationError:
            raise _refuse(path, "a time is RFC 3339, e.g. 2024-06-01T00:00:00Z") from None
    else:
        raise _refuse(path, "a time is RFC 3339, e.g. 2024-06-01T00:00:00Z")
    if moment.tzinfo is None:
        raise _refuse(path, "a time needs an offset, e.g. 2024-06-01T00:00:00Z")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 is in year 0 in UTC, which Python cannot hold.
        raise _refuse(path, "the time is out of range (years 1 to 9999, in UTC)") from None


def _attribute_value(op: str, raw: Any, path: str) -> Any:
    if op in RANGE:
        if not _is_number(raw):
            raise _refuse(path, f"{op} on an attribute takes a number")
        return raw
    if isinstance(raw, bool) or _is_number(raw):
        return raw
    if _is_text(raw, 0, MAX_ATTRIBUTE_TEXT):
        return raw
    raise _refuse(
        path, f"an attribute value is a number, true/false or text of at most {MAX_ATTRIBUTE_TEXT}"
    )


def parse(raw: Any, path: str = "filter") -> Expr:
    """The validated tree of ``raw``; ``ValidationFailed`` names the first bad path."""
    return _Parser().expr(raw, path, 1)


# Back to JSON ----------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


def to_json(expr: Expr) -> dict[str, Any]:
    """The canonical JSON form (what segments store and executions record)."""
    if isinstance(expr, And):
        return {"and": [to_json(item) for item in expr.items]}
    if isinstance(expr, Or):
        return {"or": [to_json(item) for item in expr.items]}
    if isinstance(expr, Not):
        return {"not": to_json(expr.item)}
    return {"field": expr.field, "op": expr.op, "value": _json_value(expr.value)}


def all_of(*exprs: Expr | None) -> Expr:
    """The conjunction of the given expressions (``None`` stands for no condition)."""
    items: list[Expr] = []
    for expr in exprs:
        if expr is None:
            continue
        items.extend(expr.items if isinstance(expr, And) else (expr,))
    return items[0] if len(items) == 1 else And(tuple(items))


# Python evaluation -----------------------------------------------------------------------


def matches(expr: Expr, contact: Mapping[str, Any]) -> bool:
    """Whether a contact (wire field names: ``location``, ``attributes``…) matches."""
    if isinstance(expr, And):
        return all(matches(item, contact) for item in expr.items)
    if isinstance(expr, Or):
        return any(matches(item, contact) for item in expr.items)
    if isinstance(expr, Not):
        return not matches(expr.item, contact)
    if expr.op == "ne":
        return not _holds(expr, "eq", expr.value, contact)
    if expr.op == "nin":
        return not _holds(expr, "in", expr.value, contact)
    return _holds(expr, expr.op, expr.value, contact)


def _holds(p: Predicate, op: str, expected: Any, contact: Mapping[str, Any]) -> bool:
    if p.key is not None:
        attributes = contact.get("attributes") or {}
        present = p.key in attributes
        if op == "exists":
            return present == expected
        return present and _attribute_holds(op, attributes[p.key], expected)
    actual = contact.get(p.field)
    if p.spec.kind is Kind.TIMESTAMP and isinstance(actual, str):
        actual = datetime.fromisoformat(actual)
    if op == "exists":
        return (bool(actual) if p.spec.kind is Kind.TAGS else actual is not None) == expected
    if actual is None:
        return False
    if op == "any":
        return not set(expected).isdisjoint(actual)
    if op == "all":
        return set(expected) <= set(actual)
    return _compare(op, actual, expected)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "in":
        return actual in expected
    if op == "between":
        return bool(expected[0] <= actual <= expected[1])
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def _json_equal(actual: Any, expected: Any) -> bool:
    # JSON types do not mix: true is not 1, "1" is not 1 (as in PostgreSQL's jsonb).
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual == expected
    if isinstance(expected, str):
        return isinstance(actual, str) and actual == expected
    return _is_number(actual) and actual == expected


def _attribute_holds(op: str, actual: Any, expected: Any) -> bool:
    if op == "eq":
        return _json_equal(actual, expected)
    if op == "in":
        return any(_json_equal(actual, item) for item in expected)
    return _is_number(actual) and _compare(op, actual, expected)
