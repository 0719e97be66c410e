"""``python -m telecast_telegram_sim``: run the Telegram simulator.

``python -m telecast_telegram_sim migrate`` brings its schema up to date first.
"""

from __future__ import annotations

import sys

from telecast_libs.migrations import SchemaNotCurrent
from telecast_libs.settings import SettingsError


def main() -> None:
    try:
        if sys.argv[1:] == ["migrate"]:
            from telecast_libs.migrations import migrate_command
            from telecast_telegram_sim.migrations import HISTORY

            migrate_command(HISTORY)
            return
        from telecast_telegram_sim.bootstrap import main as serve

        serve()
    except (SettingsError, SchemaNotCurrent) as error:
        sys.exit(f"telecast telegram simulator: {error}")


if __name__ == "__main__":
    main()
