"""The telegram_sim schema's migrations, oldest first (docs/operations.md, "Migrations")."""

from pathlib import Path

from telecast_libs.migrations import History

HISTORY = History(service="telegram_sim", schema="telegram_sim", folder=Path(__file__).parent)
