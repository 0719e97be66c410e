"""Bulk upserts of contacts by Telegram id, for imports.

A batch's rows are split by whether their Telegram id is already stored. New contacts are
COPYed straight into the contacts table (the same work as a raw COPY). Known ones are
COPYed into a temporary table, then one ``INSERT … SELECT … ON CONFLICT (telegram_id) DO
UPDATE`` lands them, and ``xmax = 0`` on the returned rows tells a created contact (one
deleted meanwhile) from an updated one. If another transaction creates one of the "new"
contacts first, the COPY fails on the unique index and the batch is redone all through the
temporary table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from telecast_campaign.audience.contact_store import storable
from telecast_libs.contracts.contacts import ContactInput

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

# Binary COPY: cheaper to produce here and to read for PostgreSQL than text.
_NEW = f"COPY campaign.contacts ({_IMPORTED}) FROM STDIN (FORMAT BINARY)"
_INTO_IMPORT_TABLE = f"COPY contact_import ({_IMPORTED}) FROM STDIN (FORMAT BINARY)"
_TYPES = [
    "int8",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "int2",
    "text[]",
    "bool",
    "timestamptz",
    "jsonb",
    "bool",
    "bool",
    "bool",
]
_EXISTING = "SELECT telegram_id FROM campaign.contacts WHERE telegram_id = ANY(%s)"
_json = msgspec.json.encode


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
    """A row of contact_import: None where nothing was given."""
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
        None if row.attributes is None else Jsonb(row.attributes, dumps=_json),
        row.is_test_recipient,
        row.opted_out,
        row.blocked,
    )


def _new_row(row: ContactInput) -> tuple[Any, ...]:
    """A row of campaign.contacts for a new contact: the defaults where nothing was given."""
    attributes = row.attributes
    if attributes and None in attributes.values():
        attributes = {key: value for key, value in attributes.items() if value is not None}
    return (
        row.telegram_id,
        row.chat_type or "private",
        row.username,
        row.first_name,
        row.last_name,
        row.language_code,
        row.location,
        row.age,
        row.interests or [],
        bool(row.purchase_history),
        row.last_purchase,
        Jsonb(attributes or {}, dumps=_json),
        bool(row.is_test_recipient),
        bool(row.opted_out),
        bool(row.blocked),
    )


async def upsert(conn: psycopg.AsyncConnection, rows: list[ContactInput]) -> tuple[int, int]:
    """Create or update ``rows`` by Telegram id in one transaction; (created, updated).
    Rows are applied in Telegram id order, so two concurrent imports touching the same
    contacts lock them in the same order and cannot deadlock."""
    unique, duplicates = merge_duplicates(rows)
    with storable():
        try:
            created, updated = await _split_upsert(conn, unique)
        except psycopg.errors.UniqueViolation:
            # A concurrent import created one of the new contacts first.
            created, updated = await _merge_upsert(conn, unique)
    return created, updated + duplicates


# Explicit transactions, even on a connection in autocommit: the temporary table empties
# itself at every commit.


async def _split_upsert(
    conn: psycopg.AsyncConnection, unique: list[ContactInput]
) -> tuple[int, int]:
    async with conn.transaction():
        cursor = await conn.execute(_EXISTING, ([row.telegram_id for row in unique],))
        known = {telegram_id for (telegram_id,) in await cursor.fetchall()}
        new = [row for row in unique if row.telegram_id not in known]
        if new:
            async with conn.cursor().copy(_NEW) as copy:
                copy.set_types(_TYPES)
                for row in new:
                    await copy.write_row(_new_row(row))
        created, updated = 0, 0
        if known:
            created, updated = await _through_import_table(
                conn, [row for row in unique if row.telegram_id in known]
            )
    return len(new) + created, updated


async def _merge_upsert(
    conn: psycopg.AsyncConnection, unique: list[ContactInput]
) -> tuple[int, int]:
    async with conn.transaction():
        return await _through_import_table(conn, unique)


async def _through_import_table(
    conn: psycopg.AsyncConnection, rows: list[ContactInput]
) -> tuple[int, int]:
    await conn.execute(_IMPORT_TABLE)
    async with conn.cursor().copy(_INTO_IMPORT_TABLE) as copy:
        copy.set_types(_TYPES)
        for row in rows:
            await copy.write_row(_copy_row(row))
    cursor = await conn.execute(_UPSERT)
    created, updated = await cursor.fetchone()  # type: ignore[misc]
    return created, updated
