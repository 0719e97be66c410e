"""``python -m telecast_telegram_sim``: run the Telegram simulator."""

from __future__ import annotations

import sys

from telecast_libs.settings import SettingsError


def main() -> None:
    try:
        from telecast_telegram_sim.bootstrap import main as serve

        serve()
    except SettingsError as error:
        sys.exit(f"telecast telegram simulator: {error}")


if __name__ == "__main__":
    main()
