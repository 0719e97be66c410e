"""Request and response bodies that exist only at the HTTP edge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from telecast_libs.contracts.base import Wire

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class LoginRequest(Wire):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class AccessToken(Wire):
    access_token: str
    token_type: str
    expires_in: int


class CampaignAccepted(Wire):
    """The answer to create, update and clone."""

    id: str
    name: str
    status: str
    version: int
    message: str


class Deleted(Wire):
    message: str


class ExecutionAccepted(Wire, kw_only=True):
    """The answer to execute."""

    execution_id: str
    # "started", or "scheduled" when scheduledAt is in the future.
    status: str
    message: str
    scheduled_at: datetime | None = None
    # Known once the dispatcher can estimate it from the audience and the send rate.
    estimated_completion: datetime | None = None


class Paused(Wire):
    status: str
    message: str
    paused_at: datetime


class Resumed(Wire):
    status: str
    message: str
    resumed_at: datetime
