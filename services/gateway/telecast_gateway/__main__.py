"""``python -m telecast_gateway``: run the HTTP gateway."""

from __future__ import annotations

import sys

from telecast_libs.settings import SettingsError


def main() -> None:
    import uvicorn

    from telecast_gateway.app import create_app
    from telecast_gateway.settings import GatewaySettings
    from telecast_libs.log import configure_logging
    from telecast_libs.settings import load_settings

    try:
        settings = load_settings(GatewaySettings)
    except SettingsError as error:
        sys.exit(f"telecast gateway: {error}")
    configure_logging("gateway", settings.log_format, settings.log_level)
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
