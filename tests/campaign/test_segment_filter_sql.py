"""The filter language's two back-ends agree: for random contacts and random filters, the
contacts PostgreSQL selects with ``to_sql`` are exactly those ``matches`` accepts.

The contacts go into a TEMP TABLE shaped like campaign.contacts, so nothing outlives the
connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.types.json import Jsonb

from telecast_campaign.audience.filter_sql import to_sql
from telecast_campaign.domain.filters import matches, parse

COUNTRIES = ["US", "CA", "DE"]
TAGS = ["shopping", "fashion", "travel", "cars"]
NAMES = ["Ann", "Bob", "Émile", "ann"]
KEYS = ["tier", "score", "vip", "city"]
BASE = datetime(2024, 1, 1, tzinfo=UTC)
MOMENTS = [BASE + timedelta(days=d, microseconds=m) for d in (0, 10, 20) for m in (0, 1)]
NUMBERS = st.one_of(st.integers(-3, 5), st.sampled_from([0.5, 2.5, -1.5, 7.0]))
SCALARS = st.one_of(NUMBERS, st.booleans(), st.sampled_from(["gold", "silver", "5", ""]))
ATTRIBUTE_VALUES = st.one_of(SCALARS, st.none(), st.just([1, 2]), st.just({"a": 1}))


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


CONTACT = st.fixed_dictionaries(
    {
        "chatType": st.sampled_from(["private", "group", "supergroup", "channel"]),
        "username": _maybe(st.sampled_from(["ann_1", "bob", "carl"])),
        "firstName": _maybe(st.sampled_from(NAMES)),
        "lastName": _maybe(st.sampled_from(NAMES)),
        "languageCode": _maybe(st.sampled_from(["en", "de", "pt-br"])),
        "location": _maybe(st.sampled_from(COUNTRIES)),
        "age": _maybe(st.integers(16, 20)),
        "interests": st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
        "purchaseHistory": st.booleans(),
        "lastPurchase": _maybe(st.sampled_from(MOMENTS)),
        "attributes": st.dictionaries(st.sampled_from(KEYS), ATTRIBUTE_VALUES, max_size=3),
        "isTestRecipient": st.booleans(),
        "createdAt": st.sampled_from(MOMENTS),
    }
)


def _predicates() -> st.SearchStrategy[dict[str, Any]]:
    def listed(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
        return st.lists(values, min_size=1, max_size=3)

    def shaped(field: str, ops: list[str], values: st.SearchStrategy[list[Any]]) -> Any:
        return st.tuples(st.sampled_from(ops), values).map(lambda t: _shape(field, *t))

    def exists(field: str) -> st.SearchStrategy[dict[str, Any]]:
        return st.booleans().map(lambda flag: {"field": field, "op": "exists", "value": flag})

    equality = ["eq", "ne", "in", "nin"]
    ranges = ["gt", "gte", "lt", "lte", "between"]
    texts = st.sampled_from(["ann_1", "bob", "Ann", "ann", "Émile", "en", "pt-br"])
    times = st.sampled_from(MOMENTS).map(lambda moment: moment.isoformat())
    return st.one_of(
        shaped("telegramId", [*equality, *ranges], listed(st.integers(0, 12))),
        shaped("chatType", equality, listed(st.sampled_from(["private", "channel"]))),
        *[
            st.one_of(shaped(field, equality, listed(texts)), exists(field))
            for field in ("username", "firstName", "lastName", "languageCode")
        ],
        shaped("location", equality, listed(st.sampled_from(COUNTRIES))),
        exists("location"),
        shaped("age", [*equality, *ranges], listed(st.integers(15, 21))),
        exists("age"),
        shaped("interests", ["any", "all"], listed(st.sampled_from(TAGS))),
        exists("interests"),
        shaped("purchaseHistory", ["eq", "ne"], listed(st.booleans())),
        shaped("isTestRecipient", ["eq", "ne"], listed(st.booleans())),
        shaped("lastPurchase", ranges, listed(times)),
        exists("lastPurchase"),
        shaped("createdAt", ranges, listed(times)),
        *[
            st.one_of(
                shaped(f"attributes.{key}", equality, listed(SCALARS)),
                shaped(f"attributes.{key}", ranges, listed(NUMBERS)),
                exists(f"attributes.{key}"),
            )
            for key in KEYS
        ],
    )


def _shape(field: str, op: str, values: list[Any]) -> dict[str, Any]:
    """A predicate from an operator and 1-3 generated values."""
    if op in ("in", "nin", "any", "all"):
        return {"field": field, "op": op, "value": values}
    if op == "between":
        return {"field": field, "op": op, "value": sorted([values[0], values[-1]])}
    return {"field": field, "op": op, "value": values[0]}


EXPRESSIONS = st.recursive(
    _predicates(),
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda items: {"and": items}),
        st.lists(children, max_size=3).map(lambda items: {"or": items}),
        children.map(lambda item: {"not": item}),
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("CREATE TEMP TABLE contacts (LIKE campaign.contacts INCLUDING DEFAULTS)")
        yield connection


def _insert(conn: psycopg.Connection, contacts: list[dict[str, Any]]) -> list[str]:
    conn.execute("TRUNCATE pg_temp.contacts")
    ids = [str(uuid.uuid4()) for _ in contacts]
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO pg_temp.contacts (id, telegram_id, chat_type, username, first_name, "
            "last_name, language_code, location, age, interests, purchase_history, "
            "last_purchase, attributes, is_test_recipient, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    contact_id,
                    index,
                    c["chatType"],
                    c["username"],
                    c["firstName"],
                    c["lastName"],
                    c["languageCode"],
                    c["location"],
                    c["age"],
                    c["interests"],
                    c["purchaseHistory"],
                    c["lastPurchase"],
                    Jsonb(c["attributes"]),
                    c["isTestRecipient"],
                    c["createdAt"],
                )
                for index, (contact_id, c) in enumerate(zip(ids, contacts, strict=True))
            ],
        )
    return ids


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    contacts=st.lists(CONTACT, min_size=1, max_size=12),
    filters=st.lists(EXPRESSIONS, min_size=1, max_size=4),
)
def test_sql_selects_exactly_the_contacts_matches_accepts(
    conn: psycopg.Connection, contacts: list[dict[str, Any]], filters: list[dict[str, Any]]
) -> None:
    ids = _insert(conn, contacts)
    for raw in filters:
        tree = parse(raw)
        condition, params = to_sql(tree)
        query = sql.SQL("SELECT id::text FROM pg_temp.contacts WHERE {}").format(condition)
        selected = {row[0] for row in conn.execute(query, params).fetchall()}
        expected = {
            contact_id
            for contact_id, contact in zip(ids, contacts, strict=True)
            if matches(tree, contact | {"telegramId": ids.index(contact_id)})
        }
        assert selected == expected, raw
