"""Request and response bodies that exist only at the HTTP edge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from telecast_gateway.operators import Account, Role
from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.views import Pagination

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class LoginRequest(Wire):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
OperatorName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AccessToken(Wire):
    """The answer to login, refresh and a password change."""

    access_token: str
    token_type: str
    expires_in: int
    # Opaque; spend it at POST /api/v1/auth/refresh for new tokens (it works once).
    refresh_token: str


class RefreshRequest(Wire):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class PasswordChange(Wire):
    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    new_password: Password


class NewOperator(Wire):
    email: Email
    password: Password
    name: OperatorName
    role: Role


class OperatorChanges(Wire, kw_only=True):
    """A partial update: only the fields present change; at least one must be."""

    email: Email | None = None
    name: OperatorName | None = None
    role: Role | None = None
    password: Password | None = None

    def __post_init__(self) -> None:
        if (self.email, self.name, self.role, self.password) == (None, None, None, None):
            raise ValueError("the body must contain email, name, role or password")


class OperatorView(Wire):
    """An operator as the API shows one: never with a password or its hash."""

    id: str
    email: str
    name: str
    role: Role
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, account: Account) -> OperatorView:
        return cls(
            id=account.id,
            email=account.email,
            name=account.name,
            role=account.role,
            created_at=account.created_at.astimezone(UTC),
            updated_at=account.updated_at.astimezone(UTC),
        )


class OperatorPage(Wire):
    users: list[OperatorView]
    pagination: Pagination


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
    estimated_completion: (
        Annotated[
            datetime,
            msgspec.Meta(
                description="When the last message should be sent: from the audience, the "
                "sending accounts' rates and the work queued ahead (absent when unknown)"
            ),
        ]
        | None
    ) = None


class Paused(Wire):
    status: str
    message: str
    paused_at: datetime


class Resumed(Wire):
    status: str
    message: str
    resumed_at: datetime
