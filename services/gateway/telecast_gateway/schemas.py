"""Request and response bodies that exist only at the HTTP edge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from telecast_gateway.operators import Account, Role
from telecast_gateway.passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from telecast_libs.contracts.base import SPACE, Wire
from telecast_libs.contracts.views import Pagination

Email = Annotated[
    str,
    msgspec.Meta(min_length=3, max_length=320, pattern=rf"^[^@{SPACE}\x00]+@[^@{SPACE}\x00]+$"),
]


class LoginRequest(Wire):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


# The policy's other half (not a common password) is checked by ``_check_password``.
Password = Annotated[str, msgspec.Meta(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
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


class LogoutRequest(Wire):
    # The login to end: the refresh token it was given (or any of its successors).
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class LoggedOut(Wire):
    message: str


def _check_password(password: str | None) -> None:
    problem = password_problem(password) if password is not None else None
    if problem:
        raise ValueError(problem)


class PasswordChange(Wire):
    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    new_password: Password

    def __post_init__(self) -> None:
        _check_password(self.new_password)


class NewOperator(Wire):
    email: Email
    password: Password
    name: OperatorName
    role: Role

    def __post_init__(self) -> None:
        _check_password(self.password)


class OperatorChanges(Wire, kw_only=True):
    """A partial update: only the fields present change; at least one must be."""

    email: Email | None = None
    name: OperatorName | None = None
    role: Role | None = None
    password: Password | None = None
    # true: the operator can no longer log in, and their tokens stop working at once.
    disabled: bool | None = None

    def __post_init__(self) -> None:
        fields = (self.email, self.name, self.role, self.password, self.disabled)
        if fields == (None,) * len(fields):
            raise ValueError("the body must contain email, name, role, password or disabled")
        _check_password(self.password)


class OperatorView(Wire):
    """An operator as the API shows one: never with a password or its hash."""

    id: str
    email: str
    name: str
    role: Role
    created_at: datetime
    updated_at: datetime
    disabled: bool = False
    # The password was set for them: their next login must change it.
    must_change_password: bool = False

    @classmethod
    def of(cls, account: Account) -> OperatorView:
        return cls(
            id=account.id,
            email=account.email,
            name=account.name,
            role=account.role,
            created_at=account.created_at.astimezone(UTC),
            updated_at=account.updated_at.astimezone(UTC),
            disabled=account.disabled,
            must_change_password=account.must_change_password,
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
