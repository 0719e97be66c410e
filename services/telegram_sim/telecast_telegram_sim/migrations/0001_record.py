"""The simulator's record as its start-up code made it before migrations (idempotent)."""

from telecast_libs.migrations import execute

revision = "0001"
down_revision = None


def upgrade() -> None:
    execute(
        """
CREATE TABLE IF NOT EXISTS telegram_sim.messages (
    seq bigserial PRIMARY KEY,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    chat_kind text NOT NULL,
    message_id bigint NOT NULL,
    text text NOT NULL,
    parse_mode text,
    buttons jsonb NOT NULL,
    media jsonb,
    reference text NOT NULL,
    correlation_id text,
    accepted_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_reference ON telegram_sim.messages (reference);
CREATE INDEX IF NOT EXISTS messages_chat ON telegram_sim.messages (chat_id, message_id);
CREATE TABLE IF NOT EXISTS telegram_sim.refusals (
    seq bigserial PRIMARY KEY,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    error text NOT NULL,
    value integer,
    reference text NOT NULL,
    at timestamptz NOT NULL,
    over_limit boolean NOT NULL
);
CREATE TABLE IF NOT EXISTS telegram_sim.violations (
    seq bigserial PRIMARY KEY,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    kind text NOT NULL,
    at timestamptz NOT NULL,
    detail text NOT NULL
);
CREATE TABLE IF NOT EXISTS telegram_sim.invites (
    seq bigserial PRIMARY KEY,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    name text,
    expire_date timestamptz,
    member_limit integer,
    join_request boolean NOT NULL,
    link text NOT NULL UNIQUE,
    at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS telegram_sim.receipts (
    seq bigserial PRIMARY KEY,
    account text NOT NULL,
    chat_id bigint NOT NULL,
    message_id bigint NOT NULL,
    kind text NOT NULL,
    url text,
    at timestamptz NOT NULL
);
"""
    )
