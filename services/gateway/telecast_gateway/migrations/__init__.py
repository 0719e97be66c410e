"""The gateway schema's migrations, oldest first (docs/operations.md, "Migrations")."""

from pathlib import Path

from telecast_libs.migrations import History

HISTORY = History(service="gateway", schema="gateway", folder=Path(__file__).parent)
