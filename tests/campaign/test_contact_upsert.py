"""Bulk upserts of contacts against a real PostgreSQL: counts, what an import keeps and
changes, and a concurrent creation of the same contact."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import psycopg
import pytest

from telecast_campaign.audience.contact_upsert import upsert
from telecast_libs.contracts.contacts import ChatType, ContactInput

BASE = random.randrange(10**15, 10**16)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
        yield c


async def _stored(conn: psycopg.AsyncConnection, telegram_id: int) -> dict:
    cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
    await cursor.execute("SELECT * FROM campaign.contacts WHERE telegram_id = %s", (telegram_id,))
    rows = await cursor.fetchall()
    assert len(rows) == 1
    return rows[0]


async def test_new_and_known_contacts_in_one_batch(conn: psycopg.AsyncConnection) -> None:
    first = [
        ContactInput(
            telegram_id=BASE + 1,
            first_name="Ann",
            location="US",
            interests=["a"],
            attributes={"plan": "gold", "gone": None},
            opted_out=True,
        ),
        ContactInput(telegram_id=BASE + 2, chat_type=ChatType.CHANNEL),
    ]
    assert await upsert(conn, first) == (2, 0)
    ann = await _stored(conn, BASE + 1)
    assert ann["chat_type"] == "private" and ann["attributes"] == {"plan": "gold"}
    assert ann["opted_out"] is True and ann["id"] is not None

    again = [
        ContactInput(
            telegram_id=BASE + 1,
            age=30,
            attributes={"plan": None, "score": 5},
            opted_out=False,
        ),
        ContactInput(telegram_id=BASE + 3),
        ContactInput(telegram_id=BASE + 2, username="deals"),
        ContactInput(telegram_id=BASE + 3, first_name="Bo"),
    ]
    assert await upsert(conn, again) == (1, 3)
    ann_after = await _stored(conn, BASE + 1)
    assert (ann_after["first_name"], ann_after["location"], ann_after["age"]) == ("Ann", "US", 30)
    assert ann_after["interests"] == ["a"]
    assert ann_after["attributes"] == {"score": 5}
    assert ann_after["opted_out"] is True
    assert ann_after["id"] == ann["id"] and ann_after["created_at"] == ann["created_at"]
    assert (await _stored(conn, BASE + 2))["chat_type"] == "channel"
    assert (await _stored(conn, BASE + 3))["first_name"] == "Bo"


async def test_a_contact_created_meanwhile_is_updated_not_duplicated(
    conn: psycopg.AsyncConnection, database_url: str
) -> None:
    telegram_id = BASE + 10
    async with await psycopg.AsyncConnection.connect(database_url) as other:
        # Another transaction creates the contact and has not committed yet: the import does
        # not see it, and its COPY waits on the unique index.
        await other.execute(
            "INSERT INTO campaign.contacts (telegram_id, first_name) VALUES (%s, 'Other')",
            (telegram_id,),
        )
        importing = asyncio.create_task(
            upsert(conn, [ContactInput(telegram_id=telegram_id, age=40)])
        )
        await asyncio.sleep(0.5)
        assert not importing.done()
        await other.commit()
        assert await asyncio.wait_for(importing, 30) == (0, 1)
    stored = await _stored(conn, telegram_id)
    assert (stored["first_name"], stored["age"]) == ("Other", 40)
