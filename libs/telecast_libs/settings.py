"""Settings read from the environment into a validated msgspec Struct.

Each service declares one ``Struct`` whose fields are its settings; a field ``gateway_port``
is read from the variable ``GATEWAY_PORT``. A missing or malformed value stops the service
at start with a message naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import ClassVar, TypeVar
from urllib.parse import urlsplit

import msgspec

T = TypeVar("T", bound=msgspec.Struct)

_PATH_FIELD = re.compile(r"\$\.(\w+)")
# nats-server reads a password from its environment as a configuration value, not as text:
# one that starts with a digit or '-' is lexed as a number or a date, "true" as a boolean,
# and the server refuses to start. Letters, digits, '-' and '_', a letter first, read as
# text; 16 characters at least.
NATS_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{15,}$")


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the environment variable."""


def load_settings(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for name in cls.__struct_fields__:
        value = env.get(name.upper())
        if value is not None and value != "":
            raw[name] = value
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as error:
        message = str(error)
        match = _PATH_FIELD.search(message)
        if match:
            variable = match.group(1).upper()
            message = _PATH_FIELD.sub(variable, message)
            raise SettingsError(f"environment variable {variable}: {message}") from None
        missing = re.search(r"missing required field `(\w+)`", message)
        if missing:
            variable = missing.group(1).upper()
            raise SettingsError(f"environment variable {variable} is required") from None
        raise SettingsError(message) from None


def check_postgres_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        raise ValueError("expected postgresql://user[:password]@host[:port]/database")
    return url


def check_nats_url(url: str) -> str:
    for server in url.split(","):
        if urlsplit(server.strip()).scheme not in ("nats", "tls", "ws", "wss"):
            raise ValueError("expected nats://host:port (comma-separated for a cluster)")
    return url


DEVELOPMENT = "development"
PRODUCTION = "production"


class CommonSettings(msgspec.Struct, kw_only=True):
    """What every service needs: where PostgreSQL and NATS are, its namespace and logging,
    and whether it runs for development (``make run``, the tests) or for real."""

    database_url: str
    # Anything but "development" is production: secrets must be set and not defaults.
    telecast_env: str = PRODUCTION
    nats_url: str = "nats://127.0.0.1:4222"
    telecast_namespace: str = "telecast"
    log_format: str = "auto"
    log_level: str = "info"
    # TLS to NATS where its traffic leaves the host (docs/security.md): the CA that signed
    # the server's certificate (else the system's), and this client's certificate and key
    # when the server asks for one. A tls:// URL or a CA turns TLS on.
    nats_tls_ca: str = ""
    nats_tls_cert: str = ""
    nats_tls_key: str = ""

    # The NATS user a service connects as (deploy/nats/authorization.conf), None for one that
    # uses no NATS. Its password is read from a variable of its own, NATS_<USER>_PASSWORD, so
    # that one environment can hold every service's, as `make run`'s does.
    nats_user: ClassVar[str | None] = None

    @property
    def nats_password(self) -> str:
        """The NATS user's password (empty: connect without credentials)."""
        return ""

    def __post_init__(self) -> None:
        from telecast_libs.subjects import check_namespace

        checks = (
            ("DATABASE_URL", check_postgres_url, self.database_url),
            ("NATS_URL", check_nats_url, self.nats_url),
            ("TELECAST_NAMESPACE", check_namespace, self.telecast_namespace),
        )
        for variable, check, value in checks:
            try:
                check(value)
            except ValueError as error:
                raise SettingsError(f"environment variable {variable}: {error}") from None
        if self.telecast_env not in (DEVELOPMENT, PRODUCTION):
            raise SettingsError(
                f"environment variable TELECAST_ENV: expected {PRODUCTION} or {DEVELOPMENT}"
            )
        if self.log_format not in ("auto", "json", "console"):
            raise SettingsError("environment variable LOG_FORMAT: expected auto, json or console")
        if self.log_level.lower() not in ("debug", "info", "warning", "error"):
            raise SettingsError(
                "environment variable LOG_LEVEL: expected debug, info, warning or error"
            )
        if self.nats_user is not None:
            variable = f"NATS_{self.nats_user.upper()}_PASSWORD"
            # A NATS server without users would take any process for a service.
            self.require_secret(variable, self.nats_password, "")
            if self.nats_password and not NATS_PASSWORD.match(self.nats_password):
                raise SettingsError(
                    f"environment variable {variable}: use 16 or more letters, digits, '-' "
                    "or '_', a letter first (nats-server would misread anything else)"
                )
        if self.nats_tls_key and not self.nats_tls_cert:
            raise SettingsError(
                "environment variable NATS_TLS_KEY: set NATS_TLS_CERT too (the certificate "
                "the key belongs to)"
            )

    @property
    def development(self) -> bool:
        return self.telecast_env == DEVELOPMENT

    def require_secret(
        self, variable: str, value: str, development_default: str, what: str = "a secret"
    ) -> None:
        """Outside development a secret (or a key that goes with one) must be set, and not to
        the default that the source code publishes. The message names the variable, never
        the value."""
        if self.development:
            return
        if not value or value == development_default:
            raise SettingsError(
                f"environment variable {variable} must be set to {what} of your own "
                f"(it is unset, empty or the development default; only TELECAST_ENV="
                f"{DEVELOPMENT} runs on the defaults)"
            )


def check_command_key(variable: str, value: str) -> None:
    """A signing or verify key of signed commands (telecast_libs/command_signing.py)."""
    from telecast_libs.command_signing import SigningKeyError, check_key

    try:
        check_key(value)
    except SigningKeyError as error:
        raise SettingsError(f"environment variable {variable}: {error}") from None
