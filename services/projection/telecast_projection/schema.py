"""The projection's read model tables, in its own PostgreSQL schema (made by the rebuild)."""

from __future__ import annotations

import psycopg

from telecast_projection import delivery_view

SCHEMA = "projection"

_TABLES = """
CREATE TABLE IF NOT EXISTS projection.checkpoints (
    consumer text PRIMARY KEY,
    stream_seq bigint NOT NULL,
    position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS projection.campaigns (
    id uuid PRIMARY KEY,
    version integer NOT NULL,
    name text NOT NULL,
    description text,
    type text NOT NULL,
    status text NOT NULL,
    budget double precision,
    start_date timestamptz,
    end_date timestamptz,
    created_by text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    content jsonb NOT NULL,
    execution jsonb,
    cloned_from text,
    -- {"totalCount", "countedAt"} as the last event that counted the audience carried it.
    audience_count jsonb,
    -- A clone made with resetStatistics false: its source's statistics at that moment.
    baseline jsonb,
    search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', name || ' ' || coalesce(description, ''))
    ) STORED
);
CREATE INDEX IF NOT EXISTS campaigns_created_at ON projection.campaigns (created_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS campaigns_status ON projection.campaigns (status, created_at)
    WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS campaigns_status_type ON projection.campaigns
    (status, type, created_at, id) WHERE deleted_at IS NULL;
-- Full-text search over name and description, built into PostgreSQL (no extension). With
-- fastupdate off, new campaigns go straight into the index rather than into a pending list
-- that every search would scan, so search stays indexed right after a burst of creates.
CREATE INDEX IF NOT EXISTS campaigns_search ON projection.campaigns
    USING gin (search_vector) WITH (fastupdate = off) WHERE deleted_at IS NULL;
"""


# Message templates (template_view), searched by name and content like campaigns.
_TEMPLATE_TABLES = """
CREATE TABLE IF NOT EXISTS projection.templates (
    id uuid PRIMARY KEY,
    version integer NOT NULL,
    name text NOT NULL,
    content jsonb NOT NULL,
    created_by text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', name || ' ' || coalesce(content->>'content', ''))
    ) STORED
);
CREATE INDEX IF NOT EXISTS templates_created_at ON projection.templates (created_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS templates_search ON projection.templates
    USING gin (search_vector) WITH (fastupdate = off) WHERE deleted_at IS NULL;
"""

# Segments (segment_view), searched by name and description like campaigns.
_SEGMENT_TABLES = """
CREATE TABLE IF NOT EXISTS projection.segments (
    id uuid PRIMARY KEY,
    version integer NOT NULL,
    name text NOT NULL,
    description text,
    filter jsonb NOT NULL,
    created_by text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', name || ' ' || coalesce(description, ''))
    ) STORED
);
CREATE INDEX IF NOT EXISTS segments_created_at ON projection.segments (created_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS segments_search ON projection.segments
    USING gin (search_vector) WITH (fastupdate = off) WHERE deleted_at IS NULL;
"""

# fastupdate off: new campaigns go straight into the index instead of a pending list that
# every search would scan, so search stays indexed right after a burst of creates.
# Raise when the read model's tables change shape: the projection then drops them and
# rebuilds them from the event stream (read models are derived data; events are the truth).
READ_MODEL_VERSION = 8


async def create_schema(conn: psycopg.AsyncConnection) -> bool:
    """Make the read model's tables; True when an older read model was dropped to be rebuilt.

    Not a migration: the read model is derived from the event streams, so a change to its
    shape raises READ_MODEL_VERSION and the tables are made anew and replayed, never
    altered. The schema and its ``read_model_version`` table are migrated (migrations/).
    """
    row = await (await conn.execute("SELECT version FROM projection.read_model_version")).fetchone()
    rebuilding = row is not None and row[0] != READ_MODEL_VERSION
    if rebuilding or row is None:
        await conn.execute("DROP TABLE IF EXISTS projection.campaigns, projection.checkpoints")
        await conn.execute("DROP TABLE IF EXISTS projection.templates")
        await conn.execute("DROP TABLE IF EXISTS projection.segments")
        await conn.execute(f"DROP TABLE IF EXISTS {delivery_view.DROPPED}")
        await conn.execute("DELETE FROM projection.read_model_version")
        await conn.execute(
            "INSERT INTO projection.read_model_version VALUES (%s)", (READ_MODEL_VERSION,)
        )
    await conn.execute(_TABLES)
    await conn.execute(_TEMPLATE_TABLES)
    await conn.execute(_SEGMENT_TABLES)
    await conn.execute(delivery_view.TABLES)
    return rebuilding
