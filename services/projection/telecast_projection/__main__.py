"""``python -m telecast_projection``: run the projection service."""

from __future__ import annotations

import sys

from telecast_libs.settings import SettingsError


def main() -> None:
    try:
        from telecast_projection.bootstrap import main as serve

        serve()
    except SettingsError as error:
        sys.exit(f"telecast projection: {error}")


if __name__ == "__main__":
    main()
