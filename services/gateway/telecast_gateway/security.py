"""Bearer tokens (JWT, HS256) and role guards.

An access token carries the operator's id, email, role and credentials version (``pwv``),
its issuer and audience (both required); it expires after ``TOKEN_TTL_SECONDS``. Every
request checks it against the operator as stored now (``credentials.Credentials``: cached
briefly, dropped on change), so a deleted, disabled or demoted operator, or one whose
password changed, loses access at once.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AuthenticationResult
from litestar.openapi.spec import OpenAPI
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from telecast_gateway.operators import Account, NotAllowed, Operator, OperatorStore, Role
from telecast_libs.contracts.errors import ErrorCode, Problem

TOKEN_ISSUER = "telecast"
TOKEN_AUDIENCE = "telecast-api"

# Paths anyone may call: logging in, refreshing, probes, metrics, the API description and
# tracked links (their signature is their authority).
PUBLIC_PATHS = [
    "^/api/v1/auth/login$",
    "^/api/v1/auth/refresh$",
    "^/health$",
    "^/ready$",
    "^/schema",
    "^/r/",
]

# Where an access token may also come as ``?access_token=``: a browser's EventSource cannot
# set headers. Only there, since a token in a URL can end up in proxies' logs and history.
QUERY_TOKEN_PATHS = re.compile(r"^/api/v1/campaigns/[^/]+/progress/stream$")
QUERY_TOKEN_PARAMETER = "access_token"

_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


async def _operator_from_token(
    token: Token, connection: ASGIConnection[Any, Any, Any, Any]
) -> Operator | None:
    """The operator, if the token is still faithful to it; None answers 401."""
    extras = token.extras
    if extras.get("role") not in tuple(Role) or not isinstance(extras.get("pwv"), int):
        return None  # not a token this gateway issued (a forged one would need the secret)
    account = await connection.app.state.credentials.account(token.sub)
    if account is None:
        raise NotAuthorizedException("this token's operator no longer exists")
    if account.disabled:
        raise NotAuthorizedException("this operator is disabled")
    if account.credentials_version != extras["pwv"] or account.role != extras["role"]:
        raise NotAuthorizedException(
            "this token predates a change of password or role: log in again"
        )
    return account.as_operator()


class PasswordChangeRequired(Problem):
    code = ErrorCode.PASSWORD_CHANGE_REQUIRED


# What an operator who must change their password may still do.
_BEFORE_PASSWORD_CHANGE = frozenset(
    {"/api/v1/auth/password", "/api/v1/auth/me", "/api/v1/auth/logout"}
)


def password_changed(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """An app-wide guard: an operator whose password was set by someone else (the
    bootstrap administrator in production) changes it before anything else."""
    operator = connection.scope.get("user")
    if (
        isinstance(operator, Operator)
        and operator.must_change_password
        and connection.scope["path"] not in _BEFORE_PASSWORD_CHANGE
    ):
        raise PasswordChangeRequired(
            "change your password first (POST /api/v1/auth/password): it was set for you"
        )


class BearerOrQueryTokenMiddleware(JWTAuthenticationMiddleware):
    """The Bearer token of the ``Authorization`` header or, on ``QUERY_TOKEN_PATHS`` and
    only when that header is absent, the ``access_token`` query parameter."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        if not connection.headers.get(self.auth_header) and QUERY_TOKEN_PATHS.match(
            connection.scope["path"]
        ):
            token = connection.query_params.get(QUERY_TOKEN_PARAMETER)
            if token:
                return await self.authenticate_token(encoded_token=token, connection=connection)
        return await super().authenticate_request(connection)


def build_auth(secret: str, ttl_seconds: int) -> JWTAuth[Operator]:
    return JWTAuth[Operator](
        token_secret=secret,
        retrieve_user_handler=_operator_from_token,
        authentication_middleware_class=BearerOrQueryTokenMiddleware,
        exclude=PUBLIC_PATHS,
        default_token_expiration=timedelta(seconds=ttl_seconds),
        accepted_issuers=[TOKEN_ISSUER],
        accepted_audiences=[TOKEN_AUDIENCE],
        require_claims=["iss", "aud", "exp", "sub"],
        description="An access token from POST /api/v1/auth/login or /api/v1/auth/refresh",
    )


def issue_token(auth: JWTAuth[Operator], account: Account) -> str:
    return auth.create_token(
        identifier=account.id,
        token_issuer=TOKEN_ISSUER,
        token_audience=TOKEN_AUDIENCE,
        token_extras={
            "email": account.email,
            "name": account.name,
            "role": account.role,
            "pwv": account.credentials_version,
        },
    )


def document_public_paths(openapi: OpenAPI) -> None:
    """Mark the operations under ``PUBLIC_PATHS`` with ``security: []`` in the OpenAPI.

    Litestar leaves out an empty ``security``, so those operations would seem to need the
    global Bearer token; deriving the mark from the list the middleware uses keeps the
    document and the behaviour from drifting apart.
    """
    patterns = [re.compile(pattern) for pattern in PUBLIC_PATHS]
    for path, item in (openapi.paths or {}).items():
        if any(pattern.search(path) for pattern in patterns):
            for method in _HTTP_METHODS:
                operation = getattr(item, method, None)
                if operation is not None:
                    operation.security = []


def _is_options(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    # Litestar's automatic OPTIONS answer inherits a controller's guards but skips
    # authentication: it names no operator, and it reveals nothing a guard protects.
    return connection.scope.get("method") == "OPTIONS"


def requires(*roles: Role) -> Any:
    """A guard admitting only operators whose token names one of ``roles``."""

    def guard(connection: ASGIConnection[Any, Operator, Any, Any], _: BaseRouteHandler) -> None:
        if _is_options(connection):
            return
        if connection.user.role not in roles:
            allowed = " or ".join(roles)
            raise PermissionDeniedException(f"this needs the {allowed} role")

    return guard


async def is_current_admin(
    connection: ASGIConnection[Any, Operator, Any, Any], _: BaseRouteHandler
) -> None:
    """Admits an administrator whose token still matches the stored operator.

    Stricter than ``requires``: a deleted or demoted administrator, or one whose password
    changed, cannot manage operators with a token issued before.
    """
    if _is_options(connection):
        return
    operator = connection.user
    if operator.role != Role.ADMIN:
        raise PermissionDeniedException("this needs the admin role")
    operators: OperatorStore = connection.app.state.operators
    account = await operators.current(operator)
    if account.role != Role.ADMIN:
        raise NotAllowed("this needs the admin role")


can_write_campaigns = requires(Role.ADMIN, Role.MANAGER)
