"""The segment filter grammar the OpenAPI document states is the one the parser takes.

Filters drawn from the document's JSON Schema (by schemathesis, as a client generated from it
would send them) are accepted by ``parse``, but for the rules the schema cannot state
(``between``'s order, the totals of predicates and expressions); filters the parser refuses
for any other reason are ones the schema forbids.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from telecast_campaign.domain.errors import ValidationFailed
from telecast_campaign.domain.filters import parse
from telecast_libs.contracts.segment_filter import FILTER, MAX_DEPTH, json_schemas

COMPONENTS = json_schemas()
_DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "filters", "version": "1"},
    "paths": {
        "/estimate": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{FILTER}"}}
                    },
                },
                "responses": {"200": {"description": "counted"}},
            }
        }
    },
    "components": {"schemas": COMPONENTS},
}
# The same grammar as one schema, its formats checked (date-time) as schemathesis checks them.
_VALIDATOR = jsonschema_rs.Draft202012Validator(
    {"$ref": f"#/$defs/{FILTER}", "$defs": json_schemas(ref="#/$defs/")}, validate_formats=True
)
# What the schema does not say, by the parser's words: the depth could be (ten levels written
# out), but a generator then explores every level (schemathesis's coverage phase took minutes
# for one operation), so the document says it in words.
UNSTATED = ("between needs lowest ≤ highest", "a filter holds at most", "nesting is deeper")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(schemathesis.openapi.from_dict(_DOCUMENT)["/estimate"]["POST"].as_strategy())
def test_a_filter_the_document_allows_is_one_the_parser_takes(case: Any) -> None:
    assert _VALIDATOR.is_valid(case.body), case.body
    try:
        parse(case.body)
    except ValidationFailed as refused:
        assert any(words in refused.message for words in UNSTATED), (case.body, refused.message)


def p(field: str, op: str, value: Any = None) -> dict[str, Any]:
    raw = {"field": field, "op": op}
    return raw if value is None else raw | {"value": value}


def nested(depth: int) -> dict[str, Any]:
    expr: dict[str, Any] = p("age", "gt", 1)
    for _ in range(depth - 1):
        expr = {"not": expr}
    return expr


@pytest.mark.parametrize(
    "raw",
    [
        {"and": [p("location", "in", ["US", "ca"]), p("age", "between", [18, 45])]},
        {"or": [p("interests", "any", ["a"]), {"not": p("attributes.tier", "eq", "gold")}]},
        {"and": []},
        p("age", "exists"),
        p("lastPurchase", "exists", False),
        p("createdAt", "gte", "2024-06-01T02:00:00+02:00"),
        p("attributes.score", "between", [1.5, 7]),
        p("attributes.vip", "in", [True, 3, "x", ""]),
        p("telegramId", "eq", -(2**63)),
        p("chatType", "nin", ["group", "channel"]),
        nested(MAX_DEPTH),
    ],
)
def test_a_filter_the_parser_takes_is_one_the_document_allows(raw: dict[str, Any]) -> None:
    parse(raw)
    assert _VALIDATOR.is_valid(raw)


@pytest.mark.parametrize(
    "raw",
    [
        {},
        p("height", "eq", 3),
        p("attributes.", "eq", 1),
        p("age", "like", 3),
        p("location", "gt", "US"),
        p("interests", "eq", "x"),
        p("telegramId", "exists"),
        p("createdAt", "eq", "2024-01-01T00:00:00Z"),
        p("age", "eq", True),
        p("age", "eq", 1.5),
        p("age", "gt", 200),
        p("age", "between", [18]),
        p("age", "in", []),
        p("age", "in", 3),
        p("age", "in", [1, "2"]),
        p("location", "eq", "USA"),
        p("chatType", "eq", "forum"),
        p("username", "eq", ""),
        p("username", "eq", "a\x00b"),
        p("purchaseHistory", "eq", "yes"),
        p("lastPurchase", "gt", "yesterday"),
        p("attributes.score", "gt", "5"),
        p("attributes.tags", "eq", ["a"]),
        p("age", "exists", "yes"),
        {"field": "age", "op": "eq"},
        {"field": "age", "op": "eq", "value": 1, "extra": 2},
        {"op": "eq", "value": 1},
        {"and": p("age", "gt", 1)},
        {"and": [], "or": []},
        {"not": [p("age", "gt", 1)]},
        [p("age", "gt", 1)],
    ],
)
def test_a_filter_the_parser_refuses_is_one_the_document_forbids(raw: Any) -> None:
    with pytest.raises(ValidationFailed):
        parse(raw)
    assert not _VALIDATOR.is_valid(raw)
