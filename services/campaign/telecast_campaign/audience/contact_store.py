"""The contacts table in SQL: reads, listing and single-contact writes (bulk upserts are in
``contact_upsert``)."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from telecast_libs.contracts.contacts import (
    ChatType,
    Contact,
    ContactChanges,
    ContactErrorCode,
    ContactInput,
    ContactPage,
    ListContacts,
)
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.views import Pagination

_COLUMNS = (
    "id, telegram_id, chat_type, username, first_name, last_name, language_code, location, "
    "age, interests, purchase_history, last_purchase, attributes, is_test_recipient, "
    "opted_out, blocked, created_at, updated_at"
)


class ContactNotFound(Problem):
    code = ContactErrorCode.CONTACT_NOT_FOUND


class ContactExists(Problem):
    code = ContactErrorCode.CONTACT_EXISTS


class UnstorableValue(Problem):
    code = ErrorCode.VALIDATION_ERROR


@contextmanager
def storable() -> Iterator[None]:
    """A value PostgreSQL refuses (a NUL in text) is bad input, not an outage. The gateway
    refuses such values first; this covers any other sender."""
    try:
        yield
    except psycopg.errors.DataError as error:
        raise UnstorableValue(f"a value cannot be stored: {error.diag.message_primary}") from None


def _contact(row: tuple[Any, ...]) -> Contact:
    return Contact(
        id=str(row[0]),
        telegram_id=row[1],
        chat_type=ChatType(row[2]),
        username=row[3],
        first_name=row[4],
        last_name=row[5],
        language_code=row[6],
        location=row[7],
        age=row[8],
        interests=row[9],
        purchase_history=row[10],
        last_purchase=row[11] and row[11].astimezone(UTC),
        attributes=row[12],
        is_test_recipient=row[13],
        opted_out=row[14],
        blocked=row[15],
        created_at=row[16].astimezone(UTC),
        updated_at=row[17].astimezone(UTC),
    )


def _uuid(contact_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(contact_id)
    except ValueError:
        raise _not_found(contact_id) from None


def _not_found(contact_id: str) -> ContactNotFound:
    return ContactNotFound(f"no contact with id {contact_id!r}", details={"id": contact_id})


def _exists(telegram_id: int) -> ContactExists:
    return ContactExists(
        f"a contact with telegramId {telegram_id} exists already",
        details={"telegramId": telegram_id},
    )


def _attributes(attributes: dict[str, Any] | None) -> Jsonb:
    # A null value means "remove this key"; a new contact simply does not get it.
    return Jsonb({k: v for k, v in (attributes or {}).items() if v is not None})


# Single contacts --------------------------------------------------------------------------


async def create(conn: psycopg.AsyncConnection, given: ContactInput) -> Contact:
    with storable():
        cursor = await _insert(conn, given)
    row = await cursor.fetchone()
    if row is None:
        raise _exists(given.telegram_id)
    return _contact(row)


async def _insert(conn: psycopg.AsyncConnection, given: ContactInput) -> psycopg.AsyncCursor:
    return await conn.execute(
        "INSERT INTO campaign.contacts (id, telegram_id, chat_type, username, first_name, "
        "last_name, language_code, location, age, interests, purchase_history, last_purchase, "
        "attributes, is_test_recipient, opted_out, blocked) "
        "VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (telegram_id) DO NOTHING RETURNING {_COLUMNS}",
        (
            given.telegram_id,
            given.chat_type or ChatType.PRIVATE,
            given.username,
            given.first_name,
            given.last_name,
            given.language_code,
            given.location,
            given.age,
            given.interests or [],
            bool(given.purchase_history),
            given.last_purchase,
            _attributes(given.attributes),
            bool(given.is_test_recipient),
            bool(given.opted_out),
            bool(given.blocked),
        ),
    )


async def get(conn: psycopg.AsyncConnection, contact_id: str) -> Contact:
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM campaign.contacts WHERE id = %s", (_uuid(contact_id),)
    )
    row = await cursor.fetchone()
    if row is None:
        raise _not_found(contact_id)
    return _contact(row)


async def update(
    conn: psycopg.AsyncConnection, contact_id: str, changes: ContactChanges
) -> Contact:
    assignments: list[str] = []
    params: list[Any] = []
    for name in changes.__struct_fields__:
        value = getattr(changes, name)
        if value is msgspec.UNSET:
            continue
        if name == "attributes":
            assignments.append("attributes = jsonb_strip_nulls(attributes || %s)")
            params.append(Jsonb(value))
        else:
            assignments.append(f"{name} = %s")
            params.append(value)
    if not assignments:
        return await get(conn, contact_id)
    try:
        with storable():
            cursor = await conn.execute(
                f"UPDATE campaign.contacts SET {', '.join(assignments)}, updated_at = now() "
                f"WHERE id = %s RETURNING {_COLUMNS}",
                [*params, _uuid(contact_id)],
            )
    except psycopg.errors.UniqueViolation:
        raise _exists(changes.telegram_id) from None  # type: ignore[arg-type]
    row = await cursor.fetchone()
    if row is None:
        raise _not_found(contact_id)
    return _contact(row)


async def delete(conn: psycopg.AsyncConnection, contact_id: str) -> str:
    cursor = await conn.execute(
        "DELETE FROM campaign.contacts WHERE id = %s RETURNING id", (_uuid(contact_id),)
    )
    if await cursor.fetchone() is None:
        raise _not_found(contact_id)
    return contact_id


async def set_opted_out(conn: psycopg.AsyncConnection, contact_id: str, opted_out: bool) -> Contact:
    cursor = await conn.execute(
        "UPDATE campaign.contacts SET opted_out = %s, updated_at = now() "
        f"WHERE id = %s RETURNING {_COLUMNS}",
        (opted_out, _uuid(contact_id)),
    )
    row = await cursor.fetchone()
    if row is None:
        raise _not_found(contact_id)
    return _contact(row)


async def set_blocked(conn: psycopg.AsyncConnection, telegram_id: int, blocked: bool) -> Contact:
    cursor = await conn.execute(
        "UPDATE campaign.contacts SET blocked = %s, updated_at = now() "
        f"WHERE telegram_id = %s RETURNING {_COLUMNS}",
        (blocked, telegram_id),
    )
    row = await cursor.fetchone()
    if row is None:
        raise ContactNotFound(
            f"no contact with telegramId {telegram_id}", details={"telegramId": telegram_id}
        )
    return _contact(row)


# Listing ----------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_TELEGRAM_ID = re.compile(r"^-?\d{1,19}$")


def search_query(search: str) -> str | None:
    """A tsquery matching every word of ``search`` as a word prefix ("jan do" finds "Jane
    Doe", "@jane_d" finds the username jane_doe); None when the search holds no word."""
    words = _WORD.findall(search.lower().replace("_", " "))
    return " & ".join(f"{word}:*" for word in words) or None


def list_conditions(query: ListContacts) -> tuple[str, list[Any]]:
    """The WHERE clause of a list query and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    if query.search is not None:
        # A search without a single word matches nothing (rather than everything).
        text = query.search.strip()
        condition = "search_vector @@ to_tsquery('simple', %s)"
        params.append(search_query(text) or "")
        if _TELEGRAM_ID.match(text) and -(2**63) <= int(text) < 2**63:
            condition = f"({condition} OR telegram_id = %s)"
            params.append(int(text))
        where.append(condition)
    for column, value in (
        ("chat_type", query.chat_type),
        ("location", query.location),
        ("opted_out", query.opted_out),
        ("blocked", query.blocked),
        ("is_test_recipient", query.is_test_recipient),
    ):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if query.interest is not None:
        where.append("interests @> ARRAY[%s]::text[]")
        params.append(query.interest)
    return (" AND ".join(where) or "true"), params


async def list_page(conn: psycopg.AsyncConnection, query: ListContacts) -> ContactPage:
    condition, params = list_conditions(query)
    cursor = await conn.execute(f"SELECT count(*) FROM campaign.contacts WHERE {condition}", params)
    total = (await cursor.fetchone())[0]  # type: ignore[index]
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM campaign.contacts WHERE {condition} "
        "ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    return ContactPage(
        contacts=[_contact(row) for row in await cursor.fetchall()],
        pagination=Pagination(
            page=query.page,
            limit=query.limit,
            total=total,
            pages=math.ceil(total / query.limit),
        ),
    )
