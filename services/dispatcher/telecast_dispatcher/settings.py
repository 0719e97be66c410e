"""The dispatcher's settings (environment variables, see README)."""

from __future__ import annotations

import re
from typing import ClassVar

from telecast_dispatcher.telegram.accounts import AccountConfig, accounts_from_settings
from telecast_dispatcher.telegram.port import Account
from telecast_dispatcher.webhooks.targets import parse_allowlist
from telecast_libs.command_signing import DEV_DISPATCHER_SIGNING_KEY, DEV_GATEWAY_VERIFY_KEY
from telecast_libs.sealing import DEV_DATA_ENCRYPTION_KEY, Sealer, SealingError
from telecast_libs.settings import CommonSettings, SettingsError, check_command_key
from telecast_libs.tracking import DEV_TRACKING_SECRET, MIN_SECRET_LENGTH


class DispatcherSettings(CommonSettings, kw_only=True):
    nats_user: ClassVar[str | None] = "dispatcher"
    nats_dispatcher_password: str = ""

    @property
    def nats_password(self) -> str:
        return self.nats_dispatcher_password

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

    # false: this replica sends nothing (webhooks and tracking only): a replica kept for
    # webhooks, or every replica during maintenance (executions wait, nothing is lost).
    sending_enabled: bool = True
    # Telegram. With TELEGRAM_API_ID set, messages go through Pyrogram from the accounts of
    # TELEGRAM_BOT_TOKENS and TELEGRAM_SESSION_STRINGS (docs/telegram.md); without it,
    # through the Telegram simulator at TELEGRAM_SIMULATOR_ADDRESS from the accounts named
    # in TELEGRAM_SIM_ACCOUNTS (docs/telegram-simulator.md).
    telegram_api_id: int | None = None
    telegram_api_hash: str = ""
    telegram_bot_tokens: str = ""
    telegram_session_strings: str = ""
    telegram_simulator_address: str = "127.0.0.1:9210"
    telegram_sim_accounts: str = "sim-bot-1"
    # Messages per second per bot (Telegram's bulk limit is about 30) and per user account
    # (Telegram publishes no figure). With the simulator, TELEGRAM_BOT_RATE=0 lifts the limit.
    telegram_bot_rate: float = 30.0
    telegram_user_rate: float = 1.0
    # Per chat: messages per second to a private chat, per minute to a group or channel.
    send_private_chat_rate: float = 1.0
    send_group_per_minute: float = 20.0
    # A send Telegram could not take (its own trouble, or unreachable) is tried this many
    # times in all, waiting base * 2^(n-1) seconds (at most max) between tries.
    send_max_attempts: int = 5
    send_retry_base_seconds: float = 1.0
    send_retry_max_seconds: float = 60.0
    # Recipients per work item; items one replica sends at once.
    send_item_size: int = 500
    send_max_items: int = 4
    # Deliveries are claimed (committed as under way) for about this many seconds of
    # sending at a time: a crash leaves at most that many unconfirmed.
    send_claim_seconds: float = 0.25
    # How long an account's lease lasts without renewal (a dead replica's accounts are
    # taken over after this).
    send_lease_ttl_seconds: float = 4.0
    # Guards: pause an execution whose failures exceed this share of at least
    # GUARD_MIN_OUTCOMES outcomes (1 disables); the cost of one message, against the
    # campaign's budget (0: no cost, no budget guard).
    guard_max_error_rate: float = 0.5
    guard_min_outcomes: int = 100
    message_cost: float = 0.0

    # Tracking: with TRACKING_BASE_URL (the gateway's public address) set, the links and URL
    # buttons of messages are rewritten into <base>/r/<token>, signed with TRACKING_SECRET
    # (the gateway's must be the same). Empty: links are sent as written.
    tracking_base_url: str = ""
    tracking_secret: str = DEV_TRACKING_SECRET
    # Seals webhook secrets at rest (AES-256-GCM): 32 random bytes, base64url (generate one
    # with `python -m telecast_dispatcher generate-key`). Changing it makes the sealed
    # secrets unreadable: rotate them afterwards.
    data_encryption_key: str = DEV_DATA_ENCRYPTION_KEY
    # Signs the commands the dispatcher sends the campaign service (Ed25519,
    # telecast_libs/command_signing.py); the campaign service holds its verify key.
    dispatcher_signing_key: str = DEV_DISPATCHER_SIGNING_KEY
    # Checks that the webhook and tracking commands come from the gateway.
    gateway_verify_key: str = DEV_GATEWAY_VERIFY_KEY
    # Keep the first 512 bytes of each webhook answer in the delivery log.
    webhook_response_excerpt: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_secret("TRACKING_SECRET", self.tracking_secret, DEV_TRACKING_SECRET)
        self.require_secret(
            "DATA_ENCRYPTION_KEY", self.data_encryption_key, DEV_DATA_ENCRYPTION_KEY
        )
        self.require_secret(
            "DISPATCHER_SIGNING_KEY", self.dispatcher_signing_key, DEV_DISPATCHER_SIGNING_KEY
        )
        self.require_secret(
            "GATEWAY_VERIFY_KEY", self.gateway_verify_key, DEV_GATEWAY_VERIFY_KEY, "a key"
        )
        check_command_key("DISPATCHER_SIGNING_KEY", self.dispatcher_signing_key)
        check_command_key("GATEWAY_VERIFY_KEY", self.gateway_verify_key)
        try:
            Sealer(self.data_encryption_key)
        except SealingError as error:
            raise SettingsError(f"environment variable DATA_ENCRYPTION_KEY: {error}") from None
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
            "send_max_attempts",
            "send_retry_base_seconds",
            "send_retry_max_seconds",
            "send_item_size",
            "send_max_items",
            "send_claim_seconds",
            "send_lease_ttl_seconds",
            "guard_min_outcomes",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"environment variable {name.upper()}: must be positive")
        non_negative = (
            "webhook_disable_after_seconds",
            "webhook_secret_grace_seconds",
            "telegram_bot_rate",
            "telegram_user_rate",
            "send_private_chat_rate",
            "send_group_per_minute",
            "message_cost",
        )
        for name in non_negative:
            if getattr(self, name) < 0:
                raise SettingsError(f"environment variable {name.upper()}: must not be negative")
        if self.webhook_retry_factor < 1:
            raise SettingsError("environment variable WEBHOOK_RETRY_FACTOR: must be at least 1")
        if self.send_item_size > 5000:
            raise SettingsError("environment variable SEND_ITEM_SIZE: at most 5000")
        if not 0 < self.guard_max_error_rate <= 1:
            raise SettingsError("environment variable GUARD_MAX_ERROR_RATE: must be in (0, 1]")
        if self.telegram_api_id is not None:
            try:
                self.telegram_accounts()
            except ValueError as error:
                raise SettingsError(str(error)) from None
        elif not self.sim_accounts():
            raise SettingsError("environment variable TELEGRAM_SIM_ACCOUNTS: name an account")
        if len(self.tracking_secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"environment variable TRACKING_SECRET: use at least {MIN_SECRET_LENGTH} characters"
            )
        if self.tracking_base_url and not re.match(
            r"^https?://[^/\s?#]+(/[^\s?#]*)?$", self.tracking_base_url
        ):
            raise SettingsError(
                "environment variable TRACKING_BASE_URL: an http(s) URL without query, "
                "such as https://go.example.com"
            )
        if not 0 <= self.webhook_retry_jitter < 1:
            raise SettingsError("environment variable WEBHOOK_RETRY_JITTER: must be in [0, 1)")

    def telegram_accounts(self) -> list[AccountConfig]:
        return accounts_from_settings(
            self.telegram_api_id,
            self.telegram_api_hash,
            self.telegram_bot_tokens,
            self.telegram_session_strings,
            self.telegram_bot_rate,
            self.telegram_user_rate,
        )

    def sim_accounts(self) -> list[Account]:
        names = [n.strip() for n in self.telegram_sim_accounts.split(",") if n.strip()]
        return [Account(name=name, is_bot=True, rate=self.telegram_bot_rate) for name in names]
