"""``python -m telecast_campaign``: run the campaign service.

``python -m telecast_campaign republish --from-position N`` makes the relay publish again
every event from notification N on (JetStream drops those it still remembers; read models
skip what they already applied). Use it when a stream lost messages.

``python -m telecast_campaign migrate`` brings the campaign schema up to date (the
deployment step before the service starts; docs/operations.md).
"""

from __future__ import annotations

import argparse
import sys

from telecast_libs.migrations import SchemaNotCurrent
from telecast_libs.settings import SettingsError


def _republish(from_position: int) -> None:
    import psycopg

    from telecast_campaign.bootstrap import SCHEMA
    from telecast_campaign.relay import RelayPosition
    from telecast_campaign.settings import CampaignSettings
    from telecast_libs.settings import load_settings

    settings = load_settings(CampaignSettings)
    table = RelayPosition(SCHEMA).table
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("UPDATE {} SET position = %s").format(table),
            (max(0, from_position - 1),),
        )
    print(f"the relay will publish again from notification {from_position}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m telecast_campaign")
    commands = parser.add_subparsers(dest="command")
    republish = commands.add_parser("republish", help="publish stored events again")
    republish.add_argument("--from-position", type=int, default=1)
    commands.add_parser("migrate", help="bring the campaign schema up to date")
    args = parser.parse_args()
    try:
        if args.command == "republish":
            _republish(args.from_position)
        elif args.command == "migrate":
            from telecast_campaign.migrations import HISTORY
            from telecast_libs.migrations import migrate_command

            migrate_command(HISTORY)
        else:
            from telecast_campaign.bootstrap import main as serve

            serve()
    except (SettingsError, SchemaNotCurrent) as error:
        sys.exit(f"telecast campaign: {error}")


if __name__ == "__main__":
    main()
