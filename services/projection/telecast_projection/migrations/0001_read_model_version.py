"""The projection schema's one durable table: which shape the read model's tables have.

The read model's tables themselves are not migrated: they are derived from the event streams
and belong to the rebuild (schema.py, READ_MODEL_VERSION), which drops and makes them anew.
"""

from telecast_libs.migrations import execute

revision = "0001"
down_revision = None


def upgrade() -> None:
    execute(
        """
CREATE TABLE IF NOT EXISTS projection.read_model_version (version integer NOT NULL);
"""
    )
