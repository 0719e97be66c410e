"""The sending columns added after the first release of its tables (no-ops where the tables
were made with them).
"""

from telecast_libs.migrations import execute

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    execute(
        """
ALTER TABLE dispatcher.campaign_facts ADD COLUMN IF NOT EXISTS invitation jsonb;
ALTER TABLE dispatcher.executions ADD COLUMN IF NOT EXISTS invitation jsonb;
ALTER TABLE dispatcher.executions ADD COLUMN IF NOT EXISTS guard_reason text;
ALTER TABLE dispatcher.deliveries ADD COLUMN IF NOT EXISTS segment_ids text[] NOT NULL DEFAULT '{}';
ALTER TABLE dispatcher.deliveries ADD COLUMN IF NOT EXISTS cost double precision NOT NULL DEFAULT 0;
"""
    )
