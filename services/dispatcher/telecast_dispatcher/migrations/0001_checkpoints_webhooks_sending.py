"""The dispatcher schema as its start-up code made it before migrations: the consumers'
checkpoints, the webhook tables and the sending tables (idempotent, so that a database made
by that code is adopted as it is).

``deliveries`` is the ledger: one row per (execution, contact, step) -- a step is one of
the campaign's messages -- whose primary key is what makes a send happen at most once. Its
rows are also the outbox of the delivery events (``published``). ``interactions`` (reads,
clicks, conversions) is the outbox of the interaction events.
"""

from telecast_libs.migrations import execute

revision = "0001"
down_revision = None


def upgrade() -> None:
    execute(
        """
CREATE TABLE IF NOT EXISTS dispatcher.checkpoints (
    consumer text PRIMARY KEY,
    stream_seq bigint NOT NULL,
    position bigint NOT NULL
);
"""
    )
    execute(
        """
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
    )
    execute(
        """
-- What the dispatcher needs to know of a campaign before it starts (its budget and type),
-- kept from the campaign's events.
CREATE TABLE IF NOT EXISTS dispatcher.campaign_facts (
    campaign_id uuid PRIMARY KEY,
    version integer NOT NULL,
    type text,
    budget double precision,
    invitation jsonb
);
CREATE TABLE IF NOT EXISTS dispatcher.executions (
    execution_id uuid PRIMARY KEY,
    campaign_id uuid NOT NULL,
    priority text NOT NULL,
    test_mode boolean NOT NULL,
    campaign_type text,
    -- The messages as the started event recorded them (templates resolved).
    messages jsonb NOT NULL,
    budget double precision,
    -- An invitation campaign's chat and link settings (each recipient gets a link).
    invitation jsonb,
    correlation_id text,
    -- What the campaign's events say: active, paused, cancelled, completed.
    campaign_state text NOT NULL,
    -- The version of the campaign event that set campaign_state (older events change nothing).
    campaign_version integer NOT NULL,
    started_at timestamptz NOT NULL,
    -- Planning: the keyset cursor of the next audience page, and what is queued so far.
    planning_after text,
    planning_done boolean NOT NULL DEFAULT false,
    planned_items integer NOT NULL DEFAULT 0,
    planned_recipients bigint NOT NULL DEFAULT 0,
    planned_at timestamptz,
    planned_published boolean NOT NULL DEFAULT false,
    -- Outcomes so far, and since the last resume (what the error-rate guard looks at).
    sent bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    guard_sent bigint NOT NULL DEFAULT 0,
    guard_failed bigint NOT NULL DEFAULT 0,
    -- The guard that stopped the execution (ERROR_RATE, BUDGET_EXHAUSTED) and why; cleared
    -- by a resume. Until the campaign's paused event arrives, its items are parked here.
    guard_code text,
    guard_reason text,
    failure_code text,
    -- Every recipient has an outcome; and when the campaign service was told so.
    finished_at timestamptz,
    told_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS executions_campaign ON dispatcher.executions (campaign_id);
CREATE TABLE IF NOT EXISTS dispatcher.work_items (
    execution_id uuid NOT NULL,
    item_no integer NOT NULL,
    -- The item's contacts: ids in (after_id, upto_id] of the execution's audience.
    after_id uuid,
    upto_id uuid NOT NULL,
    recipients integer NOT NULL,
    -- queued (on the work queue), parked (set aside by a pause, queued again on resume),
    -- done (every delivery has an outcome), dropped (the execution was cancelled).
    state text NOT NULL DEFAULT 'queued',
    -- Raised each time the item is queued again, so that its message id is new.
    generation integer NOT NULL DEFAULT 0,
    published boolean NOT NULL DEFAULT false,
    PRIMARY KEY (execution_id, item_no)
);
CREATE INDEX IF NOT EXISTS work_items_open ON dispatcher.work_items (execution_id)
    WHERE state IN ('queued', 'parked');
CREATE TABLE IF NOT EXISTS dispatcher.deliveries (
    execution_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    step smallint NOT NULL,
    campaign_id uuid NOT NULL,
    item_no integer NOT NULL,
    telegram_id bigint NOT NULL,
    chat_kind text NOT NULL,
    message_id text NOT NULL,
    variation_id text,
    -- The execution's segments the recipient is in (statistics per segment).
    segment_ids text[] NOT NULL DEFAULT '{}',
    -- pending, sending (claimed: a send may be under way), sent, failed, unconfirmed.
    state text NOT NULL DEFAULT 'pending',
    claim uuid,
    attempts smallint NOT NULL DEFAULT 0,
    code text,
    detail text,
    account text,
    telegram_message_id bigint,
    -- What a sent message cost (MESSAGE_COST when it was sent).
    cost double precision NOT NULL DEFAULT 0,
    finished_at timestamptz,
    published boolean NOT NULL DEFAULT false,
    PRIMARY KEY (execution_id, contact_id, step)
);
CREATE INDEX IF NOT EXISTS deliveries_item ON dispatcher.deliveries (execution_id, item_no);
CREATE INDEX IF NOT EXISTS deliveries_unpublished ON dispatcher.deliveries (finished_at)
    WHERE NOT published AND state IN ('sent', 'failed', 'unconfirmed');
-- Accounts Telegram has taken out of use (PEER_FLOOD, banned, logged out), for every replica.
CREATE TABLE IF NOT EXISTS dispatcher.account_states (
    account text PRIMARY KEY,
    state text NOT NULL,
    code text NOT NULL,
    detail text,
    since timestamptz NOT NULL
);
-- What recipients did with the messages: reads, clicks of tracked links, conversions, each
-- attributed to the ledger. The outbox of the interaction events (published).
CREATE TABLE IF NOT EXISTS dispatcher.interactions (
    -- The event's id: from the click id, the conversion id or the receipt (idempotent).
    id uuid PRIMARY KEY,
    -- delivery.read, delivery.clicked, delivery.converted
    type text NOT NULL,
    campaign_id uuid NOT NULL,
    execution_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    telegram_id bigint NOT NULL,
    message_id text,
    variation_id text,
    -- A conversion: every message the recipient was sent, and its variation.
    arms jsonb NOT NULL DEFAULT '[]',
    segment_ids text[] NOT NULL DEFAULT '{}',
    url text,
    conversion_id text,
    revenue double precision NOT NULL DEFAULT 0,
    -- The recipient's first interaction of this type in the campaign.
    first boolean NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    correlation_id text,
    published boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS interactions_unpublished ON dispatcher.interactions (recorded_at)
    WHERE NOT published;
CREATE INDEX IF NOT EXISTS interactions_execution ON dispatcher.interactions (execution_id);
-- Who has read, clicked, converted in a campaign (what makes an interaction "first").
CREATE TABLE IF NOT EXISTS dispatcher.interaction_firsts (
    campaign_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    type text NOT NULL,
    PRIMARY KEY (campaign_id, contact_id, type)
);
-- Finding a recipient's deliveries: a conversion by contact, a receipt or a conversion by
-- chat (a sent message has its Telegram message id).
CREATE INDEX IF NOT EXISTS deliveries_recipient ON dispatcher.deliveries (campaign_id, contact_id);
CREATE INDEX IF NOT EXISTS deliveries_chat
    ON dispatcher.deliveries (telegram_id, telegram_message_id)
    WHERE telegram_message_id IS NOT NULL;
"""
    )
