"""``python -m telecast_dispatcher``: run the dispatcher service."""

from __future__ import annotations

import sys

from telecast_libs.settings import SettingsError


def main() -> None:
    try:
        from telecast_dispatcher.bootstrap import main as serve

        serve()
    except SettingsError as error:
        sys.exit(f"telecast dispatcher: {error}")


if __name__ == "__main__":
    main()
