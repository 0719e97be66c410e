"""The operator columns added with operator management (a no-op where the start-up code of
that release ran).
"""

from telecast_libs.migrations import execute

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    execute(
        """
ALTER TABLE gateway.operators
    ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS credentials_version integer NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS disabled boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS must_change_password boolean NOT NULL DEFAULT false;
"""
    )
