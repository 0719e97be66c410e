"""``python -m telecast_dispatcher``: run the dispatcher service.

Operator commands (see ``sending/operations.py``):
``republish-deliveries [--execution ID]``, ``republish-work [--execution ID]``,
``accounts``, ``restore-account NAME``, ``generate-key`` (a new ``DATA_ENCRYPTION_KEY``);
``migrate`` brings the dispatcher schema up to date (the deployment step before the service
starts; docs/operations.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from telecast_libs.migrations import SchemaNotCurrent
from telecast_libs.settings import SettingsError


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m telecast_dispatcher")
    commands = parser.add_subparsers(dest="command")
    republish = commands.add_parser(
        "republish-deliveries",
        help="publish delivery (and interaction) events again from the ledger",
    )
    republish.add_argument(
        "--execution", help="every outcome of this execution (default: the unpublished ones)"
    )
    work = commands.add_parser("republish-work", help="queue the items not yet done again")
    work.add_argument("--execution", help="only this execution's items")
    commands.add_parser("accounts", help="list the accounts Telegram took out of use")
    restore = commands.add_parser("restore-account", help="put an account back into use")
    restore.add_argument("name")
    commands.add_parser("generate-key", help="print a new random DATA_ENCRYPTION_KEY")
    commands.add_parser("migrate", help="bring the dispatcher schema up to date")
    args = parser.parse_args()
    try:
        if args.command == "generate-key":
            from telecast_libs.sealing import generate_key

            print(generate_key())
            return
        if args.command == "migrate":
            from telecast_dispatcher.migrations import HISTORY
            from telecast_libs.migrations import migrate_command

            migrate_command(HISTORY)
            return
        if args.command is None:
            from telecast_dispatcher.bootstrap import main as serve

            serve()
            return
        from telecast_dispatcher.sending import operations
        from telecast_dispatcher.settings import DispatcherSettings
        from telecast_libs.settings import load_settings

        settings = load_settings(DispatcherSettings)
        if args.command == "republish-deliveries":
            count, interactions = asyncio.run(
                operations.republish_deliveries(settings, args.execution)
            )
            also = f" and {interactions} interaction events" if interactions else ""
            print(f"published {count} delivery events{also}")
        elif args.command == "republish-work":
            count = asyncio.run(operations.republish_work(settings, args.execution))
            print(f"{count} work items will be published again by the sending leader")
        elif args.command == "accounts":
            rows = asyncio.run(operations.retired_accounts(settings))
            if not rows:
                print("every configured account is in use")
            for account, state, code, detail, since in rows:
                print(f"{account}\t{state}\t{code}\tsince {since:%Y-%m-%d %H:%M:%S}Z\t{detail}")
        elif args.command == "restore-account":
            if asyncio.run(operations.restore_account(settings, args.name)):
                print(f"{args.name} is back in the rotation")
            else:
                sys.exit(f"telecast dispatcher: {args.name} was not taken out of use")
    except (SettingsError, SchemaNotCurrent) as error:
        sys.exit(f"telecast dispatcher: {error}")


if __name__ == "__main__":
    main()
