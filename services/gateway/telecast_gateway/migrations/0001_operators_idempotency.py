"""The gateway schema as its start-up code made it before migrations: operators, refresh
tokens, idempotency keys (idempotent, so that a database made by that code is adopted).
"""

from telecast_libs.migrations import execute

revision = "0001"
down_revision = None


def upgrade() -> None:
    execute(
        """
CREATE TABLE IF NOT EXISTS gateway.operators (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS operators_email ON gateway.operators (lower(email));
CREATE TABLE IF NOT EXISTS gateway.refresh_tokens (
    token_hash bytea PRIMARY KEY,
    family_id uuid NOT NULL,
    operator_id uuid NOT NULL REFERENCES gateway.operators (id) ON DELETE CASCADE,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON gateway.refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_operator ON gateway.refresh_tokens (operator_id);
"""
    )
    execute(
        """
CREATE TABLE IF NOT EXISTS gateway.idempotency_keys (
    operator_id text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status integer,
    headers jsonb,
    body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operator_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON gateway.idempotency_keys (created_at);
"""
    )
