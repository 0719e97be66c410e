"""The projection schema's migrations, oldest first (docs/operations.md, "Migrations")."""

from pathlib import Path

from telecast_libs.migrations import History

HISTORY = History(service="projection", schema="projection", folder=Path(__file__).parent)
