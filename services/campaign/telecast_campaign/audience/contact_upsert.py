"""Bulk upserts of contacts by Telegram id, for imports.

A batch is COPYed into a temporary table, then one ``INSERT … SELECT … ON CONFLICT
(telegram_id) DO UPDATE`` lands it, and ``xmax = 0`` on the returned rows tells a created
contact from an updated one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import psycopg

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
    """Create or update ``rows`` by Telegram id in one transaction; (created, updated).
    Rows are applied in Telegram id order, so two concurrent imports touching the same
    contacts lock them in the same order and cannot deadlock."""
    unique, duplicates = merge_duplicates(rows)
    with storable():
        return await _upsert(conn, unique, duplicates)


async def _upsert(
    conn: psycopg.AsyncConnection, unique: list[ContactInput], duplicates: int
) -> tuple[int, int]:
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
