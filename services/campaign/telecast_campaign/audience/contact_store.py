"""The contacts table: reads, single-contact writes and bulk upserts, in SQL.

Bulk upserts go through a temporary table: a batch is COPYed into it, then one
``INSERT … SELECT … ON CONFLICT (telegram_id) DO UPDATE`` lands it, and ``xmax = 0`` on the
returned rows tells a created contact from an updated one.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable
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
from telecast_libs.contracts.errors import Problem
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
    cursor = await conn.execute(
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
    row = await cursor.fetchone()
    if row is None:
        raise _exists(given.telegram_id)
    return _contact(row)


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


# Bulk upserts -----------------------------------------------------------------------------

_IMPORTED = (
    "telegram_id, chat_type, username, first_name, last_name, language_code, location, age, "
    "interests, purchase_history, last_purchase, attributes, is_test_recipient, opted_out, "
    "blocked"
)

# One per connection (temporary tables are per session); emptied by every commit.
_IMPORT_TABLE = """
CREATE TEMPORARY TABLE IF NOT EXISTS contact_import (
    telegram_id bigint PRIMARY KEY,
    chat_type text,
    username text,
    first_name text,
    last_name text,
    language_code text,
    location text,
    age smallint,
    interests text[],
    purchase_history boolean,
    last_purchase timestamptz,
    attributes jsonb,
    is_test_recipient boolean,
    opted_out boolean,
    blocked boolean
) ON COMMIT DELETE ROWS
"""

# A NULL in contact_import means "not given": a new contact gets the column's default, an
# existing one keeps its value. EXCLUDED holds the defaults already, so the update reads
# the given values back from contact_import (one primary-key lookup per updated row).
# Opt-out and blocked are only ever set by an import, attributes merged key by key.
_UPSERT = f"""
WITH upserted AS (
    INSERT INTO campaign.contacts AS c (id, {_IMPORTED})
    SELECT gen_random_uuid(), t.telegram_id, coalesce(t.chat_type, 'private'), t.username,
        t.first_name, t.last_name, t.language_code, t.location, t.age,
        coalesce(t.interests, '{{}}'), coalesce(t.purchase_history, false), t.last_purchase,
        jsonb_strip_nulls(coalesce(t.attributes, '{{}}')), coalesce(t.is_test_recipient, false),
        coalesce(t.opted_out, false), coalesce(t.blocked, false)
    FROM contact_import t
    ORDER BY t.telegram_id
    ON CONFLICT (telegram_id) DO UPDATE SET
        ({_IMPORTED.removeprefix("telegram_id, ")}, updated_at) = (
            SELECT coalesce(i.chat_type, c.chat_type), coalesce(i.username, c.username),
                coalesce(i.first_name, c.first_name), coalesce(i.last_name, c.last_name),
                coalesce(i.language_code, c.language_code), coalesce(i.location, c.location),
                coalesce(i.age, c.age), coalesce(i.interests, c.interests),
                coalesce(i.purchase_history, c.purchase_history),
                coalesce(i.last_purchase, c.last_purchase),
                jsonb_strip_nulls(c.attributes || coalesce(i.attributes, '{{}}')),
                coalesce(i.is_test_recipient, c.is_test_recipient),
                c.opted_out OR coalesce(i.opted_out, false),
                c.blocked OR coalesce(i.blocked, false),
                now()
            FROM contact_import i WHERE i.telegram_id = excluded.telegram_id
        )
    RETURNING (xmax = 0) AS created
)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM upserted
"""

_json = msgspec.json.Encoder()


def merge_duplicates(rows: Iterable[ContactInput]) -> tuple[list[ContactInput], int]:
    """One row per Telegram id, in Telegram id order, and how many rows were merged away.

    A later row applies on top of an earlier one exactly as it would in a later batch: its
    given fields win, attributes merge, opt-out and blocked stay set once set.
    """
    merged: dict[int, ContactInput] = {}
    duplicates = 0
    for row in rows:
        earlier = merged.get(row.telegram_id)
        if earlier is not None:
            duplicates += 1
            row = _apply(earlier, row)
        merged[row.telegram_id] = row
    return [merged[key] for key in sorted(merged)], duplicates


def _apply(earlier: ContactInput, later: ContactInput) -> ContactInput:
    changes: dict[str, Any] = {}
    for name in ContactInput.__struct_fields__:
        value = getattr(later, name)
        if value is None:
            continue
        if name == "attributes" and earlier.attributes:
            value = {**earlier.attributes, **value}
        elif name in ("opted_out", "blocked"):
            value = value or bool(getattr(earlier, name))
        changes[name] = value
    return msgspec.structs.replace(earlier, **changes)


def _copy_row(row: ContactInput) -> tuple[Any, ...]:
    return (
        row.telegram_id,
        row.chat_type,
        row.username,
        row.first_name,
        row.last_name,
        row.language_code,
        row.location,
        row.age,
        row.interests,
        row.purchase_history,
        row.last_purchase,
        None if row.attributes is None else _json.encode(row.attributes).decode(),
        row.is_test_recipient,
        row.opted_out,
        row.blocked,
    )


async def upsert(conn: psycopg.AsyncConnection, rows: list[ContactInput]) -> tuple[int, int]:
    """Create or update ``rows`` by Telegram id in the connection's transaction; (created,
    updated). Rows are applied in Telegram id order, so two concurrent imports touching the
    same contacts lock them in the same order and cannot deadlock."""
    unique, duplicates = merge_duplicates(rows)
    # Explicitly one transaction, even on a connection in autocommit: the temporary table
    # empties itself at every commit.
    async with conn.transaction():
        await conn.execute(_IMPORT_TABLE)
        async with conn.cursor().copy(f"COPY contact_import ({_IMPORTED}) FROM STDIN") as copy:
            for row in unique:
                await copy.write_row(_copy_row(row))
        cursor = await conn.execute(_UPSERT)
        created, updated = await cursor.fetchone()  # type: ignore[misc]
    return created, updated + duplicates
