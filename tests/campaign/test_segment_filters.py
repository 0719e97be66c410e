"""The segment filter language, without any server: parsing, validation, evaluation, and the
spec's campaign filters in it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from telecast_campaign.audience.filter_sql import to_sql
from telecast_campaign.domain.audience import campaign_filters
from telecast_campaign.domain.errors import ValidationFailed
from telecast_campaign.domain.filters import And, Not, Or, Predicate, matches, parse, to_json

SUMMER = {
    "and": [
        {"field": "location", "op": "in", "value": ["US", "CA"]},
        {"field": "age", "op": "between", "value": [18, 45]},
        {"field": "interests", "op": "any", "value": ["shopping", "fashion"]},
        {"not": {"field": "attributes.tier", "op": "eq", "value": "gold"}},
    ]
}

JANE = {
    "telegramId": 1001,
    "chatType": "private",
    "username": "jane",
    "firstName": "Jane",
    "lastName": None,
    "languageCode": "en",
    "location": "US",
    "age": 30,
    "interests": ["shopping", "travel"],
    "purchaseHistory": True,
    "lastPurchase": datetime(2024, 5, 1, tzinfo=UTC),
    "attributes": {"tier": "silver", "score": 7, "vip": True},
    "isTestRecipient": False,
    "createdAt": datetime(2024, 1, 1, tzinfo=UTC),
}


def p(field: str, op: str, value: Any = None) -> dict[str, Any]:
    raw = {"field": field, "op": op}
    return raw if value is None else raw | {"value": value}


def refused(raw: Any) -> dict[str, Any]:
    with pytest.raises(ValidationFailed) as error:
        parse(raw)
    assert error.value.code == "VALIDATION_ERROR"
    (detail,) = error.value.details
    assert error.value.message.startswith(detail["field"])
    return detail


# Parsing -------------------------------------------------------------------------------


def test_a_filter_parses_into_a_tree_and_back_to_the_same_json() -> None:
    tree = parse(SUMMER)
    assert isinstance(tree, And)
    assert isinstance(tree.items[3], Not)
    assert tree.items[0] == Predicate("location", "in", ("US", "CA"), tree.items[0].spec)
    assert to_json(tree) == SUMMER
    assert parse(to_json(tree)) == tree


def test_values_are_normalized() -> None:
    assert to_json(parse(p("location", "eq", "us"))) == p("location", "eq", "US")
    moment = parse(p("lastPurchase", "gte", "2024-06-01T02:00:00+02:00"))
    assert isinstance(moment, Predicate)
    assert moment.value == datetime(2024, 6, 1, tzinfo=UTC)
    assert to_json(moment)["value"] == "2024-06-01T00:00:00Z"
    assert parse(p("age", "exists")).value is True
    assert parse(p("attributes.vip", "eq", True)).key == "vip"


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        (p("height", "eq", 3), "filter.field", "unknown field"),
        (
            {"and": [p("age", "gt", 1), p("age", "gt", 2), p("colour", "eq", "red")]},
            "filter.and[2].field",
            "unknown field",
        ),
        (p("attributes.", "eq", 1), "filter.field", "attribute key"),
        (p("age", "like", 3), "filter.op", "must be one of"),
        (p("location", "gt", "US"), "filter.op", "does not apply to location"),
        (p("interests", "eq", "x"), "filter.op", "does not apply to interests"),
        (p("telegramId", "exists"), "filter.op", "does not apply"),
        (p("createdAt", "eq", "2024-01-01T00:00:00Z"), "filter.op", "does not apply"),
        (
            {"and": [p("age", "gt", 1), p("age", "gt", 2), p("age", "eq", "thirty")]},
            "filter.and[2].value",
            "whole numbers",
        ),
        (p("age", "eq", True), "filter.value", "whole numbers"),
        (p("age", "eq", 1.5), "filter.value", "whole numbers"),
        (p("age", "gt", 200), "filter.value", "from 0 to 150"),
        (p("age", "between", [45, 18]), "filter.value", "lowest ≤ highest"),
        (p("age", "between", [18]), "filter.value", "[lowest, highest]"),
        (p("age", "in", []), "filter.value", "list of 1 to"),
        (p("age", "in", 3), "filter.value", "list of 1 to"),
        (p("age", "in", [1, "2"]), "filter.value[1]", "whole numbers"),
        (p("location", "eq", "USA"), "filter.value", "two-letter"),
        (p("chatType", "eq", "forum"), "filter.value", "one of"),
        (p("username", "eq", ""), "filter.value", "text of 1 to"),
        (p("username", "eq", "a\x00b"), "filter.value", "text of 1 to"),
        (p("purchaseHistory", "eq", "yes"), "filter.value", "true or false"),
        (p("lastPurchase", "gt", "2024-01-01T00:00:00"), "filter.value", "offset"),
        (p("lastPurchase", "gt", "yesterday"), "filter.value", "RFC 3339"),
        (p("attributes.score", "gt", "5"), "filter.value", "takes a number"),
        (p("attributes.tags", "eq", ["a"]), "filter.value", "attribute value"),
        (p("age", "exists", "yes"), "filter.value", "true or false"),
        ({"field": "age", "op": "eq"}, "filter.value", "required"),
        ({"field": "age", "op": "eq", "value": 1, "extra": 2}, "filter.extra", "unknown key"),
        ({"op": "eq", "value": 1}, "filter.field", "required"),
        ({"and": p("age", "gt", 1)}, "filter.and", "list"),
        ({"and": [], "or": []}, "filter", "only key"),
        ({"not": [p("age", "gt", 1)]}, "filter.not", "must be an object"),
        ([p("age", "gt", 1)], "filter", "must be an object"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_path(raw: Any, path: str, words: str) -> None:
    detail = refused(raw)
    assert detail["field"] == path
    assert words in detail["message"]


def nested(depth: int) -> dict[str, Any]:
    expr: dict[str, Any] = p("age", "gt", 1)
    for _ in range(depth - 1):
        expr = {"not": expr}
    return expr


def test_nesting_is_limited_to_ten_levels() -> None:
    parse(nested(10))
    detail = refused(nested(11))
    assert detail["field"] == "filter" + ".not" * 10
    assert "deeper than 10" in detail["message"]


def test_a_filter_holds_at_most_a_hundred_predicates() -> None:
    parse({"or": [p("age", "eq", i % 150) for i in range(100)]})
    detail = refused({"or": [p("age", "eq", i % 150) for i in range(101)]})
    assert detail["field"] == "filter.or[100]"


def test_every_node_counts_empty_combinators_too() -> None:
    parse({"and": [{"or": []} for _ in range(199)]})  # 200 expressions
    detail = refused({"and": [{"or": []} for _ in range(200)]})
    assert detail["field"] == "filter.and[199]"
    assert "at most 200 expressions" in detail["message"]


# Evaluation ----------------------------------------------------------------------------


def test_the_summer_segment() -> None:
    tree = parse(SUMMER)
    assert matches(tree, JANE)
    assert not matches(tree, JANE | {"location": "DE"})
    assert not matches(tree, JANE | {"age": 46})
    assert not matches(tree, JANE | {"age": None})
    assert not matches(tree, JANE | {"interests": ["travel"]})
    assert not matches(tree, JANE | {"attributes": {"tier": "gold"}})
    assert matches(tree, JANE | {"attributes": {}})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (p("telegramId", "eq", 1001), True),
        (p("telegramId", "gte", 1002), False),
        (p("chatType", "in", ["group", "channel"]), False),
        (p("username", "ne", "bob"), True),
        (p("firstName", "nin", ["Jane"]), False),
        (p("age", "between", [30, 30]), True),
        (p("age", "lt", 30), False),
        (p("interests", "all", ["shopping", "travel"]), True),
        (p("interests", "all", ["shopping", "cars"]), False),
        (p("interests", "any", ["cars", "travel"]), True),
        (p("interests", "exists"), True),
        (p("purchaseHistory", "eq", True), True),
        (p("isTestRecipient", "ne", False), False),
        (p("lastPurchase", "between", ["2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z"]), True),
        (p("createdAt", "lt", "2024-01-01T00:00:00Z"), False),
        (p("attributes.score", "gt", 6.5), True),
        (p("attributes.score", "in", [1, 7]), True),
        (p("attributes.score", "eq", 7.0), True),
        (p("attributes.vip", "eq", 1), False),  # true is not 1
        (p("attributes.score", "eq", "7"), False),  # nor "7" 7
        (p("attributes.tier", "gt", 1), False),  # ranges compare numbers only
        (p("attributes.tier", "exists"), True),
        (p("attributes.city", "exists", False), True),
        ({"and": []}, True),
        ({"or": []}, False),
    ],
)
def test_each_operator(raw: dict[str, Any], expected: bool) -> None:
    assert matches(parse(raw), JANE) is expected


def test_a_missing_value_fails_every_predicate_but_ne_nin_and_exists_false() -> None:
    nobody = JANE | {"lastName": None, "age": None, "attributes": {}}
    assert not matches(parse(p("lastName", "eq", "Doe")), nobody)
    assert not matches(parse(p("age", "gt", 0)), nobody)
    assert not matches(parse(p("age", "lte", 150)), nobody)
    assert not matches(parse(p("attributes.score", "lt", 100)), nobody)
    assert matches(parse(p("lastName", "ne", "Doe")), nobody)
    assert matches(parse(p("age", "nin", [1, 2])), nobody)
    assert matches(parse(p("attributes.score", "ne", 7)), nobody)
    assert matches(parse(p("age", "exists", False)), nobody)
    # ne is exactly "not eq", so a filter and its negation split the contacts in two.
    assert matches(parse({"not": p("age", "gt", 0)}), nobody)
    assert not matches(parse(p("interests", "exists")), JANE | {"interests": []})


def test_times_in_a_contact_may_be_text() -> None:
    assert matches(
        parse(p("createdAt", "gte", "2024-01-01T00:00:00Z")),
        JANE | {"createdAt": "2024-01-01T00:00:00+00:00"},
    )


def test_or_and_not_combine() -> None:
    tree = parse({"or": [p("location", "eq", "DE"), {"not": p("age", "lt", 18)}]})
    assert isinstance(tree, Or)
    assert matches(tree, JANE)
    assert not matches(tree, JANE | {"age": 12})
    assert matches(tree, JANE | {"age": 12, "location": "DE"})


# The SQL back-end's shape (its answers are checked against PostgreSQL elsewhere) -------


def test_sql_is_parameterized_and_uses_index_friendly_forms() -> None:
    condition, params = to_sql(
        parse(
            {
                "and": [
                    p("location", "in", ["US", "CA"]),
                    p("age", "between", [18, 45]),
                    p("interests", "any", ["shopping"]),
                    p("interests", "all", ["a", "b"]),
                    p("attributes.tier", "eq", "gold'; DROP TABLE x; --"),
                ]
            }
        )
    )
    text = condition.as_string(None)
    assert '"location" = ANY(%s::text[])' in text
    assert '"age" BETWEEN %s::smallint AND %s::smallint' in text
    assert '"interests" && %s::text[]' in text
    assert '"interests" @> %s::text[]' in text
    assert "attributes @> %s::jsonb" in text
    assert "DROP" not in text
    assert params[:4] == [["US", "CA"], 18, 45, ["shopping"]]


def test_not_is_pushed_down_to_null_safe_predicates() -> None:
    condition, _ = to_sql(parse({"not": {"and": [p("age", "gt", 1), p("location", "eq", "US")]}}))
    text = condition.as_string(None)
    assert text == (
        '(NOT coalesce("age" > %s::smallint, false) OR NOT coalesce("location" = %s::text, false))'
    )


# The spec's campaign filters -----------------------------------------------------------


def test_campaign_filters_convert_into_the_language() -> None:
    tree = campaign_filters(
        {
            "location": ["US", "CA"],
            "ageRange": [18, 45],
            "interests": ["shopping"],
            "purchaseHistory": False,
        }
    )
    assert tree is not None
    assert to_json(tree) == {
        "and": [
            p("location", "in", ["US", "CA"]),
            p("age", "between", [18, 45]),
            p("interests", "any", ["shopping"]),
            {"field": "purchaseHistory", "op": "eq", "value": False},
        ]
    }
    assert campaign_filters(None) is None
    assert campaign_filters({}) is None
    assert campaign_filters({"location": []}) is None


def test_a_bad_campaign_filter_names_its_place() -> None:
    with pytest.raises(ValidationFailed) as error:
        campaign_filters({"ageRange": [45, 18]})
    assert error.value.details[0]["field"] == "targetAudience.filters.ageRange"
    assert "lowest ≤ highest" in error.value.message
