"""The campaign service's settings (environment variables, see README)."""

from __future__ import annotations

from typing import ClassVar

from telecast_libs.settings import CommonSettings


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
