"""The webhook tables, in the dispatcher's PostgreSQL schema."""

from __future__ import annotations

import psycopg

_TABLES = """
CREATE TABLE IF NOT EXISTS dispatcher.webhook_subscriptions (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    events text[] NOT NULL,
    campaign_ids text[],
    description text,
    active boolean NOT NULL,
    -- Kept in clear: the dispatcher signs with it. Never logged, never answered except at
    -- creation and rotation.
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    secret_rotated_at timestamptz,
    disabled_reason text,
    disabled_at timestamptz,
    consecutive_failures integer NOT NULL DEFAULT 0,
    failing_since timestamptz,
    last_success_at timestamptz,
    created_by text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- What payloads say about a campaign (name, type, status), kept from its events.
CREATE TABLE IF NOT EXISTS dispatcher.webhook_campaigns (
    id text PRIMARY KEY,
    version integer NOT NULL,
    facts jsonb NOT NULL
);
-- The outbox: one row per (subscription, event), written in the transaction that advances
-- the intake's checkpoint. A lane (the campaign) is delivered in seq order, head first.
CREATE TABLE IF NOT EXISTS dispatcher.webhook_deliveries (
    id uuid PRIMARY KEY,
    subscription_id uuid NOT NULL
        REFERENCES dispatcher.webhook_subscriptions (id) ON DELETE CASCADE,
    event_id text NOT NULL,
    event_type text NOT NULL,
    kind text NOT NULL,
    campaign_id text,
    lane text NOT NULL,
    seq bigint NOT NULL,
    body bytea NOT NULL,
    correlation_id text,
    status text NOT NULL,
    -- The one pending delivery of its lane that may be sent (see lanes.py).
    head boolean NOT NULL DEFAULT false,
    attempts integer NOT NULL DEFAULT 0,
    round_attempts integer NOT NULL DEFAULT 0,
    round_started_at timestamptz NOT NULL,
    next_attempt_at timestamptz,
    last_status_code integer,
    last_error text,
    last_latency_ms double precision,
    created_at timestamptz NOT NULL,
    finished_at timestamptz,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_ready
    ON dispatcher.webhook_deliveries (next_attempt_at) WHERE head AND status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_lane
    ON dispatcher.webhook_deliveries (subscription_id, lane, seq, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_log
    ON dispatcher.webhook_deliveries (subscription_id, created_at DESC, id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_finished
    ON dispatcher.webhook_deliveries (finished_at) WHERE status <> 'pending';
CREATE TABLE IF NOT EXISTS dispatcher.webhook_attempts (
    delivery_id uuid NOT NULL
        REFERENCES dispatcher.webhook_deliveries (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    started_at timestamptz NOT NULL,
    latency_ms double precision NOT NULL,
    status_code integer,
    error text,
    response_excerpt text,
    next_attempt_at timestamptz,
    PRIMARY KEY (delivery_id, attempt)
);
"""


async def create_tables(conn: psycopg.AsyncConnection) -> None:
    await conn.execute(_TABLES)
