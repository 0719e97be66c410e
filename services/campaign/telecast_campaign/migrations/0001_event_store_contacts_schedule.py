"""The campaign schema as the service's start-up code made it before migrations: the event
store, the contacts, the relay's position and the schedule (idempotent, so that a database
made by that code is adopted as it is).
"""

from telecast_libs.migrations import execute

revision = "0001"
down_revision = None


def upgrade() -> None:
    execute(
        """
-- The event store, as the eventsourcing library (9.5.6, POSTGRES_SCHEMA campaign, the
-- application named Campaigns) creates it when CREATE_TABLE is on; the services now run with
-- it off. tests/migrations/test_event_store_schema.py fails when the library would create
-- something else: then that change is a new migration here.
DO $$
BEGIN
    CREATE TYPE campaign.stored_event_uuid AS (
        originator_id uuid, originator_version bigint, topic text, state bytea
    );
EXCEPTION WHEN duplicate_object THEN
    NULL;  -- no CREATE TYPE IF NOT EXISTS in PostgreSQL
END
$$;
CREATE TABLE IF NOT EXISTS campaign.campaigns_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);
CREATE UNIQUE INDEX IF NOT EXISTS campaigns_events_notification_id_idx
    ON campaign.campaigns_events (notification_id ASC);
CREATE OR REPLACE FUNCTION campaign.es_insert_events_uuid(events campaign.stored_event_uuid[])
RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$BEGIN
    SET LOCAL lock_timeout = '5s';
    NOTIFY "campaigns_events";
    RETURN QUERY
    INSERT INTO "campaign"."campaigns_events" AS t (
    originator_id, originator_version, topic, state)
    SELECT originator_id, originator_version, topic, state
    FROM unnest(events)
    RETURNING notification_id;END;$BODY$;
"""
    )
    execute(
        """
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
"""
    )
    execute(
        """
-- Where the outbox relay has got to in the notification log (relay.py).
CREATE TABLE IF NOT EXISTS campaign.relay_position (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint NOT NULL
);
INSERT INTO campaign.relay_position (position) VALUES (0) ON CONFLICT DO NOTHING;
"""
    )
    execute(
        """
-- What is due, kept by the scheduler from the events (scheduler.py).

CREATE TABLE IF NOT EXISTS campaign.schedule (
    campaign_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('start', 'end')),
    due_at timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, kind)
);
CREATE INDEX IF NOT EXISTS schedule_due ON campaign.schedule (due_at);
CREATE TABLE IF NOT EXISTS campaign.schedule_position (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint NOT NULL
);
INSERT INTO campaign.schedule_position (position) VALUES (0) ON CONFLICT DO NOTHING;
"""
    )
