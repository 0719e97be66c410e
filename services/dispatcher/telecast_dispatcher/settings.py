"""The dispatcher's settings (environment variables, see README)."""

from __future__ import annotations

from telecast_dispatcher.webhooks.targets import parse_allowlist
from telecast_libs.settings import CommonSettings, SettingsError


class DispatcherSettings(CommonSettings, kw_only=True):
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9103

    # Hosts, IP addresses and CIDR ranges webhooks may reach although private, loopback or
    # link-local (comma-separated). Empty: only public addresses.
    webhook_allowed_hosts: str = ""
    # One attempt's limit, from connecting to reading the answer.
    webhook_timeout_seconds: float = 10.0
    # Retry n waits base * factor^(n-1), at most max_delay, +/- jitter (a fraction).
    webhook_retry_base_seconds: float = 10.0
    webhook_retry_factor: float = 3.0
    webhook_retry_max_delay_seconds: float = 6 * 3600.0
    webhook_retry_jitter: float = 0.2
    # A delivery is given up after this many attempts, or once a retry would fall later
    # than the window after its first attempt.
    webhook_max_attempts: int = 12
    webhook_retry_window_seconds: float = 24 * 3600.0
    # A subscription is disabled after this many failed attempts in a row spanning at
    # least this long (an answer 410 Gone disables it at once).
    webhook_disable_after_failures: int = 10
    webhook_disable_after_seconds: float = 12 * 3600.0
    # Requests in flight at once, in all and to one subscription.
    webhook_concurrency: int = 64
    webhook_concurrency_per_subscription: int = 16
    # How often the worker looks for due deliveries when nothing wakes it.
    webhook_poll_interval_seconds: float = 1.0
    # After a secret rotation, deliveries carry a signature with the previous secret too.
    webhook_secret_grace_seconds: float = 24 * 3600.0
    # Finished deliveries (and their attempts) are deleted after this many days.
    webhook_log_retention_days: int = 30
    # Events read from the stream and turned into deliveries per transaction.
    webhook_intake_batch_size: int = 500

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            parse_allowlist(self.webhook_allowed_hosts)
        except ValueError as error:
            raise SettingsError(f"environment variable WEBHOOK_ALLOWED_HOSTS: {error}") from None
        positive = (
            "webhook_timeout_seconds",
            "webhook_retry_base_seconds",
            "webhook_retry_max_delay_seconds",
            "webhook_max_attempts",
            "webhook_retry_window_seconds",
            "webhook_disable_after_failures",
            "webhook_concurrency",
            "webhook_concurrency_per_subscription",
            "webhook_poll_interval_seconds",
            "webhook_log_retention_days",
            "webhook_intake_batch_size",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"environment variable {name.upper()}: must be positive")
        non_negative = ("webhook_disable_after_seconds", "webhook_secret_grace_seconds")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise SettingsError(f"environment variable {name.upper()}: must not be negative")
        if self.webhook_retry_factor < 1:
            raise SettingsError("environment variable WEBHOOK_RETRY_FACTOR: must be at least 1")
        if not 0 <= self.webhook_retry_jitter < 1:
            raise SettingsError("environment variable WEBHOOK_RETRY_JITTER: must be in [0, 1)")
