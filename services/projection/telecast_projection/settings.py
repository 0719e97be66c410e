"""The projection service's settings (environment variables, see README)."""

from __future__ import annotations

from typing import ClassVar

from telecast_libs.settings import CommonSettings


class ProjectionSettings(CommonSettings, kw_only=True):
    nats_user: ClassVar[str | None] = "projection"
    nats_projection_password: str = ""

    @property
    def nats_password(self) -> str:
        return self.nats_projection_password

    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9102
    # Events applied per transaction (and fetched per pull request).
    projection_batch_size: int = 500
