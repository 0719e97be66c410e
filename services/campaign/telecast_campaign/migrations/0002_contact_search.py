"""Contacts searched by word prefix, and given their ids by PostgreSQL (added to the start-up
code after the table's first release; no-ops where it ran).
"""

from telecast_libs.migrations import execute

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    execute(
        """
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
    )
