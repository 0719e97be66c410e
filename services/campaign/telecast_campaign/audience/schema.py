"""The contacts table (in the campaign service's schema) and its indexes."""

from __future__ import annotations

import psycopg

CONTACTS_DDL = """
CREATE TABLE IF NOT EXISTS campaign.contacts (
    id uuid PRIMARY KEY,
    telegram_id bigint NOT NULL UNIQUE,
    chat_type text NOT NULL DEFAULT 'private'
        CHECK (chat_type IN ('private', 'group', 'supergroup', 'channel')),
    username text,
    first_name text,
    last_name text,
    language_code text,
    location text,
    age smallint,
    interests text[] NOT NULL DEFAULT '{}',
    purchase_history boolean NOT NULL DEFAULT false,
    last_purchase timestamptz,
    attributes jsonb NOT NULL DEFAULT '{}',
    is_test_recipient boolean NOT NULL DEFAULT false,
    opted_out boolean NOT NULL DEFAULT false,
    blocked boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS contacts_location ON campaign.contacts (location);
CREATE INDEX IF NOT EXISTS contacts_age ON campaign.contacts (age);
CREATE INDEX IF NOT EXISTS contacts_interests ON campaign.contacts USING gin (interests);
CREATE INDEX IF NOT EXISTS contacts_attributes ON campaign.contacts
    USING gin (attributes jsonb_path_ops);
CREATE INDEX IF NOT EXISTS contacts_created ON campaign.contacts (created_at, id);
-- Audience counts (segments, campaigns, executions) by index only: country and age are what
-- audiences are mostly cut by, and the included columns are what the other common
-- predicates, the exclusions, an execution's start bound and its sample read. A segment
-- count over 1,000,000 contacts reads this index, not the heap (docs/audience.md).
CREATE INDEX IF NOT EXISTS contacts_audience ON campaign.contacts (location, age)
    INCLUDE (interests, purchase_history, is_test_recipient, opted_out, blocked, created_at, id);
-- Search by word prefix in username and names (full-text, no extension needed). The GIN
-- pending list stays on: imports insert in bulk, and a search reads the short pending list.
ALTER TABLE campaign.contacts ADD COLUMN IF NOT EXISTS search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple',
        coalesce(username, '') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, '')
    )) STORED;
CREATE INDEX IF NOT EXISTS contacts_search ON campaign.contacts USING gin (search_vector);
-- Imports COPY new contacts straight into the table: PostgreSQL gives them their ids.
ALTER TABLE campaign.contacts ALTER COLUMN id SET DEFAULT gen_random_uuid();
"""


async def create_contacts_table(conn: psycopg.AsyncConnection) -> None:
    # Replicas starting together must not race on CREATE … IF NOT EXISTS.
    await conn.execute("SELECT pg_advisory_lock(hashtext('telecast.campaign.contacts'))")
    try:
        await conn.execute(CONTACTS_DDL)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext('telecast.campaign.contacts'))")
