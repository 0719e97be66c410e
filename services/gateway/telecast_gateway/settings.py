"""The gateway's settings (environment variables, see README)."""

from __future__ import annotations

from telecast_libs.settings import CommonSettings, SettingsError
from telecast_libs.tracking import DEV_TRACKING_SECRET, MIN_SECRET_LENGTH

# Only for `make run` and tests; the gateway warns at start when it is in use.
DEV_JWT_SECRET = "telecast-development-secret-change-me-0123456789"


class GatewaySettings(CommonSettings, kw_only=True):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    jwt_secret: str = DEV_JWT_SECRET
    token_ttl_seconds: int = 3600
    # Lifetime of a refresh token; each refresh issues a new one with the full lifetime.
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    bootstrap_admin_email: str = "admin@telecast.local"
    bootstrap_admin_password: str = "telecast"
    # How long a write waits for the read model to show it before answering (0: no wait).
    read_your_writes_timeout_ms: int = 2000
    # How long an Idempotency-Key and its answer are kept.
    idempotency_key_ttl_hours: int = 24
    # How long the gateway waits for the campaign or projection service to answer.
    nats_request_timeout_ms: int = 5000
    # Verifies the tokens of tracked links (GET /r/<token>); the dispatcher's must be the same.
    tracking_secret: str = DEV_TRACKING_SECRET

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.jwt_secret) < 32:
            raise SettingsError("environment variable JWT_SECRET: use at least 32 characters")
        if len(self.tracking_secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"environment variable TRACKING_SECRET: use at least {MIN_SECRET_LENGTH} characters"
            )
        if not 0 < self.gateway_port < 65536:
            raise SettingsError("environment variable GATEWAY_PORT: expected 1-65535")
        if self.token_ttl_seconds <= 0:
            raise SettingsError("environment variable TOKEN_TTL_SECONDS: must be positive")
        if self.refresh_token_ttl_seconds <= 0:
            raise SettingsError("environment variable REFRESH_TOKEN_TTL_SECONDS: must be positive")
        if "@" not in self.bootstrap_admin_email or len(self.bootstrap_admin_password) < 8:
            raise SettingsError(
                "environment variables BOOTSTRAP_ADMIN_EMAIL / BOOTSTRAP_ADMIN_PASSWORD: "
                "an email address and a password of at least 8 characters"
            )
