"""The campaign service's settings (environment variables, see README)."""

from __future__ import annotations

from typing import ClassVar

from telecast_libs.command_signing import DEV_DISPATCHER_VERIFY_KEY, DEV_GATEWAY_VERIFY_KEY
from telecast_libs.settings import CommonSettings, check_command_key


class CampaignSettings(CommonSettings, kw_only=True):
    nats_user: ClassVar[str | None] = "campaign"
    nats_campaign_password: str = ""

    @property
    def nats_password(self) -> str:
        return self.nats_campaign_password

    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9101
    # Most commands decided and saved in one transaction.
    command_batch_size: int = 256
    relay_batch_size: int = 500
    # Check that commands come from the gateway, or (the few sending decides) the dispatcher
    # (telecast_libs/command_signing.py).
    gateway_verify_key: str = DEV_GATEWAY_VERIFY_KEY
    dispatcher_verify_key: str = DEV_DISPATCHER_VERIFY_KEY

    def __post_init__(self) -> None:
        super().__post_init__()
        for variable, value, default in (
            ("GATEWAY_VERIFY_KEY", self.gateway_verify_key, DEV_GATEWAY_VERIFY_KEY),
            ("DISPATCHER_VERIFY_KEY", self.dispatcher_verify_key, DEV_DISPATCHER_VERIFY_KEY),
        ):
            self.require_secret(variable, value, default, "a key")
            check_command_key(variable, value)
