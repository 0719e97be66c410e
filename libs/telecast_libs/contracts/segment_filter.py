"""The segment filter language's grammar: fields, operators, values and limits, and the same
grammar as JSON Schema (for the OpenAPI document).

An expression is ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": expr}`` or a predicate
``{"field": F, "op": OP, "value": V}`` (docs/audience.md). The campaign service's parser
(``telecast_campaign.domain.filters``) validates against these tables; ``json_schemas`` states
them for clients, so that a filter the document allows is one the parser takes, but for what
no JSON Schema can say (``between``'s lowest ≤ highest, and the totals of ``MAX_NODES`` and
``MAX_PREDICATES``, which the document says in words).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 10
MAX_PREDICATES = 100
# Every node counts (and, or, not and predicates, empty combinators too): a filter of
# thousands of empty `and`s is as costly to parse and to compile as any other.
MAX_NODES = 200
MAX_VALUES = 1000
MAX_TEXT = 500
# Contacts keep attribute text up to 1,000 characters.
MAX_ATTRIBUTE_TEXT = 1000
MAX_ATTRIBUTE_KEY = 100
ATTRIBUTES = "attributes."


class Kind(enum.Enum):
    INTEGER = "integer"
    TEXT = "text"
    CHOICE = "choice"
    COUNTRY = "country"
    TAGS = "tags"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    ATTRIBUTE = "attribute"


EQUALITY = frozenset({"eq", "ne", "in", "nin"})
RANGE = frozenset({"gt", "gte", "lt", "lte", "between"})
# Operators that take a list of values (each one a value of the field).
LISTS = frozenset({"in", "nin", "any", "all"})
_OPS_OF_KIND = {
    Kind.INTEGER: EQUALITY | RANGE,
    Kind.TEXT: EQUALITY,
    Kind.CHOICE: EQUALITY,
    Kind.COUNTRY: EQUALITY,
    Kind.TAGS: frozenset({"any", "all"}),
    Kind.BOOLEAN: frozenset({"eq", "ne"}),
    Kind.TIMESTAMP: RANGE,
    Kind.ATTRIBUTE: EQUALITY | RANGE | {"exists"},
}
OPERATORS = frozenset().union(*_OPS_OF_KIND.values(), {"exists"})


@dataclass(frozen=True)
class FieldSpec:
    """A contact field a filter can test: its column, kind and what values it holds."""

    name: str
    column: str
    kind: Kind
    nullable: bool
    sql_type: str = "text"
    bounds: tuple[int, int] | None = None
    choices: frozenset[str] = frozenset()

    @property
    def ops(self) -> frozenset[str]:
        ops = _OPS_OF_KIND[self.kind]
        # "exists" only says something about a field that can be missing (or, for tags, empty).
        return ops | {"exists"} if self.nullable or self.kind is Kind.TAGS else ops


INT64 = (-(2**63), 2**63 - 1)
FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("telegramId", "telegram_id", Kind.INTEGER, False, "bigint", INT64),
        FieldSpec(
            "chatType",
            "chat_type",
            Kind.CHOICE,
            False,
            choices=frozenset({"private", "group", "supergroup", "channel"}),
        ),
        FieldSpec("username", "username", Kind.TEXT, True),
        FieldSpec("firstName", "first_name", Kind.TEXT, True),
        FieldSpec("lastName", "last_name", Kind.TEXT, True),
        FieldSpec("languageCode", "language_code", Kind.TEXT, True),
        FieldSpec("location", "location", Kind.COUNTRY, True),
        FieldSpec("age", "age", Kind.INTEGER, True, "smallint", (0, 150)),
        FieldSpec("interests", "interests", Kind.TAGS, False),
        FieldSpec("purchaseHistory", "purchase_history", Kind.BOOLEAN, False, "boolean"),
        FieldSpec("lastPurchase", "last_purchase", Kind.TIMESTAMP, True, "timestamptz"),
        FieldSpec("isTestRecipient", "is_test_recipient", Kind.BOOLEAN, False, "boolean"),
        FieldSpec("createdAt", "created_at", Kind.TIMESTAMP, False, "timestamptz"),
    )
}
ATTRIBUTE = FieldSpec("attributes", "attributes", Kind.ATTRIBUTE, False, "jsonb")


# As JSON Schema ----------------------------------------------------------------------------

# The component names the OpenAPI document gives the grammar's parts.
FILTER = "SegmentFilter"
PREDICATE = "FilterPredicate"
_NO_NUL = r"^[^\x00]*$"
# Any UTC offset: a filter's time is compared, never stored as written.
_TIME = {"type": "string", "format": "date-time"}


def _text(longest: int, shortest: int = 1) -> dict[str, Any]:
    return {"type": "string", "minLength": shortest, "maxLength": longest, "pattern": _NO_NUL}


def _scalar_schema(spec: FieldSpec, op: str) -> dict[str, Any]:
    """What one value of ``spec`` is, for ``op``."""
    kind = spec.kind
    if kind is Kind.INTEGER:
        low, high = spec.bounds or INT64
        return {"type": "integer", "minimum": low, "maximum": high}
    if kind is Kind.BOOLEAN:
        return {"type": "boolean"}
    if kind is Kind.TIMESTAMP:
        return dict(_TIME)
    if kind is Kind.CHOICE:
        return {"type": "string", "enum": sorted(spec.choices)}
    if kind is Kind.COUNTRY:
        return {"type": "string", "pattern": "^[A-Za-z]{2}$"}
    if kind is Kind.ATTRIBUTE:
        number = {"type": "number"}
        if op in RANGE:
            return number
        return {"anyOf": [number, {"type": "boolean"}, _text(MAX_ATTRIBUTE_TEXT, 0)]}
    return _text(MAX_TEXT)


def _value_schema(spec: FieldSpec, op: str) -> dict[str, Any]:
    if op in LISTS:
        return {
            "type": "array",
            "items": _scalar_schema(spec, "eq"),
            "minItems": 1,
            "maxItems": MAX_VALUES,
        }
    if op == "between":
        return {
            "type": "array",
            "items": _scalar_schema(spec, op),
            "minItems": 2,
            "maxItems": 2,
            "description": "[lowest, highest], both included; lowest must not be above highest",
        }
    return _scalar_schema(spec, op)


def _predicates(field: dict[str, Any], spec: FieldSpec) -> list[dict[str, Any]]:
    """One schema per group of ``spec``'s operators that take the same value."""
    groups: dict[str, list[str]] = {}
    for op in sorted(spec.ops):
        key = repr(_value_schema(spec, op)) if op != "exists" else "exists"
        groups.setdefault(key, []).append(op)
    schemas = []
    for ops in groups.values():
        op_schema = {"const": ops[0]} if len(ops) == 1 else {"enum": ops}
        if ops == ["exists"]:
            schemas.append(
                {
                    "type": "object",
                    "properties": {
                        "field": field,
                        "op": op_schema,
                        "value": {"type": "boolean", "default": True},
                    },
                    "required": ["field", "op"],
                    "additionalProperties": False,
                }
            )
            continue
        schemas.append(
            {
                "type": "object",
                "properties": {
                    "field": field,
                    "op": op_schema,
                    "value": _value_schema(spec, ops[0]),
                },
                "required": ["field", "op", "value"],
                "additionalProperties": False,
            }
        )
    return schemas


def json_schemas(ref: str = "#/components/schemas/") -> dict[str, dict[str, Any]]:
    """The grammar as JSON Schema (2020-12) components: ``SegmentFilter`` (an expression) and
    ``FilterPredicate``; their references start with ``ref``."""
    by_kind: dict[tuple[Kind, bool, tuple[int, int] | None, frozenset[str]], list[str]] = {}
    for spec in FIELDS.values():
        by_kind.setdefault((spec.kind, spec.nullable, spec.bounds, spec.choices), []).append(
            spec.name
        )
    predicates: list[dict[str, Any]] = []
    for names in by_kind.values():
        field = {"const": names[0]} if len(names) == 1 else {"enum": names}
        predicates.extend(_predicates(field, FIELDS[names[0]]))
    attribute = {
        "type": "string",
        "pattern": rf"^attributes\.[^\x00]{{1,{MAX_ATTRIBUTE_KEY}}}$",
        "description": "attributes.<key>: the contact's attribute of that key",
    }
    predicates.extend(_predicates(attribute, ATTRIBUTE))
    expression = {"$ref": f"{ref}{FILTER}"}
    combined = {"type": "array", "items": expression}
    # Each form a component of its own: client generators (openapi-python-client) make a model
    # of each, where a recursive union of inline objects is one they give up on.
    forms = {
        f"{FILTER}{key.capitalize()}": {
            "title": f"{FILTER}{key.capitalize()}",
            "type": "object",
            "properties": {key: expression if key == "not" else combined},
            "required": [key],
            "additionalProperties": False,
        }
        for key in ("and", "or", "not")
    }
    return {
        FILTER: {
            "title": FILTER,
            "description": (
                "A filter over contacts: {and: [...]} (every one holds; [] matches every "
                "contact), {or: [...]} (at least one holds; [] matches none), {not: expr}, or a "
                'predicate {field, op, value} (docs/audience.md, "The filter language"). '
                f"Limits the schema does not count: at most {MAX_DEPTH} levels deep, "
                f"{MAX_PREDICATES} predicates and {MAX_NODES} expressions in all (a filter "
                "over them is refused, 400)."
            ),
            "anyOf": [{"$ref": f"{ref}{name}"} for name in (*forms, PREDICATE)],
        },
        **forms,
        PREDICATE: {
            "title": PREDICATE,
            "description": "{field, op, value}: the operators that apply to each field, and "
            "the value each takes",
            "anyOf": predicates,
        },
    }
