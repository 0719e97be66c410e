"""The dispatcher schema's migrations, oldest first (docs/operations.md, "Migrations")."""

from pathlib import Path

from telecast_libs.migrations import History

HISTORY = History(service="dispatcher", schema="dispatcher", folder=Path(__file__).parent)
