"""The gateway's settings (environment variables, see README)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from telecast_gateway.console import default_console_dir
from telecast_gateway.passwords import password_problem
from telecast_libs.command_signing import DEV_GATEWAY_SIGNING_KEY
from telecast_libs.settings import CommonSettings, SettingsError, check_command_key
from telecast_libs.tracking import DEV_TRACKING_SECRET, MIN_SECRET_LENGTH

# Only for development (TELECAST_ENV=development): elsewhere the gateway refuses to start on
# them, since they are published with the source.
DEV_JWT_SECRET = "telecast-development-secret-change-me-0123456789"
DEV_ADMIN_PASSWORD = "telecast"


class GatewaySettings(CommonSettings, kw_only=True):
    nats_user: ClassVar[str | None] = "gateway"
    nats_gateway_password: str = ""

    @property
    def nats_password(self) -> str:
        return self.nats_gateway_password

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # /metrics (Prometheus) and a second /health and /ready, on a port of their own: never
    # on the API's port, which faces the public.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9100
    # The OpenAPI documentation pages (Swagger UI, Redoc) under /schema; the document
    # itself (/schema/openapi.json) is always served. Unset: on in development only.
    gateway_schema_ui: bool | None = None
    jwt_secret: str = DEV_JWT_SECRET
    # Short: a stolen access token is of use for this long at most (refresh does the rest).
    token_ttl_seconds: int = 900
    # Lifetime of a refresh token; each refresh issues a new one with the full lifetime.
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    bootstrap_admin_email: str = "admin@telecast.local"
    # The first administrator's password. In development it defaults to DEV_ADMIN_PASSWORD;
    # elsewhere, unset, one is generated and logged once, and the first login must change it.
    bootstrap_admin_password: str = ""
    # How long a write waits for the read model to show it before answering (0: no wait).
    read_your_writes_timeout_ms: int = 2000
    # How long an Idempotency-Key and its answer are kept.
    idempotency_key_ttl_hours: int = 24
    # How long the gateway waits for the campaign or projection service to answer.
    nats_request_timeout_ms: int = 5000
    # Failed logins allowed before each further one must wait (doubling): per client
    # address, and per account (gateway/login_throttle.py).
    login_free_failures_per_address: int = 20
    login_free_failures_per_account: int = 5
    # Where the built web console is (console/dist of this checkout when empty); served at /.
    console_dir: str = ""
    # Verifies the tokens of tracked links (GET /r/<token>); the dispatcher's must be the same.
    tracking_secret: str = DEV_TRACKING_SECRET
    # Signs every command sent over NATS (Ed25519, telecast_libs/command_signing.py); the
    # services hold its verify key (GATEWAY_VERIFY_KEY).
    gateway_signing_key: str = DEV_GATEWAY_SIGNING_KEY

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_secret("JWT_SECRET", self.jwt_secret, DEV_JWT_SECRET)
        self.require_secret("TRACKING_SECRET", self.tracking_secret, DEV_TRACKING_SECRET)
        self.require_secret(
            "GATEWAY_SIGNING_KEY", self.gateway_signing_key, DEV_GATEWAY_SIGNING_KEY
        )
        check_command_key("GATEWAY_SIGNING_KEY", self.gateway_signing_key)
        if not self.development and self.bootstrap_admin_password == DEV_ADMIN_PASSWORD:
            raise SettingsError(
                "environment variable BOOTSTRAP_ADMIN_PASSWORD: the development default is "
                "refused outside development; set your own, or leave it unset to have one "
                "generated"
            )
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
        if "@" not in self.bootstrap_admin_email:
            raise SettingsError(
                "environment variable BOOTSTRAP_ADMIN_EMAIL: expected an email address"
            )
        if self.bootstrap_admin_password and self.bootstrap_admin_password != DEV_ADMIN_PASSWORD:
            problem = password_problem(self.bootstrap_admin_password)
            if problem:
                raise SettingsError(f"environment variable BOOTSTRAP_ADMIN_PASSWORD: {problem}")

    @property
    def console_path(self) -> Path:
        return Path(self.console_dir) if self.console_dir else default_console_dir()

    @property
    def schema_ui(self) -> bool:
        return self.development if self.gateway_schema_ui is None else self.gateway_schema_ui

    def admin_password(self) -> str | None:
        """The bootstrap administrator's password; None: generate one."""
        if self.bootstrap_admin_password:
            return self.bootstrap_admin_password
        return DEV_ADMIN_PASSWORD if self.development else None
