"""``python -m telecast_gateway``: run the HTTP gateway.

``python -m telecast_gateway migrate`` brings the gateway schema up to date (the deployment
step before the service starts; docs/operations.md).
"""

from __future__ import annotations

import argparse
import sys

from telecast_libs.migrations import SchemaNotCurrent, migrate_command, require_current
from telecast_libs.settings import SettingsError


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m telecast_gateway")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("migrate", help="bring the gateway schema up to date")
    args = parser.parse_args()
    try:
        if args.command == "migrate":
            from telecast_gateway.migrations import HISTORY

            migrate_command(HISTORY)
        else:
            serve()
    except (SettingsError, SchemaNotCurrent) as error:
        sys.exit(f"telecast gateway: {error}")


def serve() -> None:
    import uvicorn

    from telecast_gateway.app import create_app
    from telecast_gateway.migrations import HISTORY
    from telecast_gateway.settings import GatewaySettings
    from telecast_libs.log import configure_logging
    from telecast_libs.settings import load_settings

    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_format, settings.log_level)
    require_current(settings.database_url, HISTORY)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        log_level="warning",
        access_log=False,
        # No banner naming the server and its version.
        server_header=False,
        lifespan="on",
        # An open progress stream (Server-Sent Events) lasts until its campaign ends: a
        # shutdown waits this long for such answers, then cuts them off.
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
