"""``python -m telecast_projection``: run the projection service.

``python -m telecast_projection rebuild`` drops the read models and replays the events
(``rebuild.py``). ``python -m telecast_projection migrate`` brings the projection schema up
to date (the deployment step before the service starts; docs/operations.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from telecast_libs.migrations import SchemaNotCurrent, migrate_command, require_current
from telecast_libs.settings import SettingsError
from telecast_projection.migrations import HISTORY


def _rebuild(force: bool) -> None:
    from telecast_libs.settings import load_settings
    from telecast_projection import rebuild
    from telecast_projection.settings import ProjectionSettings

    settings = load_settings(ProjectionSettings)
    require_current(settings.database_url, HISTORY)
    trimmed = asyncio.run(rebuild.trimmed_streams(settings))
    if trimmed and not force:
        sys.exit(
            "telecast projection: a replay would miss events: "
            + "; ".join(trimmed)
            + ". Publish the history again first (python -m telecast_campaign republish "
            "--from-position 1, python -m telecast_dispatcher republish-deliveries), or "
            "--force to rebuild from what the streams hold."
        )
    asyncio.run(rebuild.request_rebuild(settings))
    print("the projection drops its read models and replays the events")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m telecast_projection")
    commands = parser.add_subparsers(dest="command")
    rebuild = commands.add_parser("rebuild", help="drop the read models and replay the events")
    rebuild.add_argument("--force", action="store_true", help="even if a stream was trimmed")
    commands.add_parser("migrate", help="bring the projection schema up to date")
    args = parser.parse_args()
    try:
        if args.command == "rebuild":
            _rebuild(args.force)
            return
        if args.command == "migrate":
            migrate_command(HISTORY)
            return
        from telecast_projection.bootstrap import main as serve

        serve()
    except (SettingsError, SchemaNotCurrent) as error:
        sys.exit(f"telecast projection: {error}")


if __name__ == "__main__":
    main()
