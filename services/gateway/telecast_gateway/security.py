"""Bearer tokens (JWT, HS256) and role guards.

An access token carries the operator's id, email, role and credentials version (``pwv``),
so that a request needs no database lookup; it expires after ``TOKEN_TTL_SECONDS``. Only
the operator-management endpoints, which read the database anyway, also check that the
token still matches the stored operator (see ``is_current_admin``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AuthenticationResult
from litestar.openapi.spec import OpenAPI
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from telecast_gateway.operators import Account, NotAllowed, Operator, OperatorStore, Role

# Paths anyone may call: logging in, refreshing, probes, metrics, the API description and
# tracked links (their signature is their authority).
PUBLIC_PATHS = [
    "^/api/v1/auth/login$",
    "^/api/v1/auth/refresh$",
    "^/health$",
    "^/ready$",
    "^/metrics$",
    "^/schema",
    "^/r/",
]

# Where an access token may also come as ``?access_token=``: a browser's EventSource cannot
# set headers. Only there, since a token in a URL can end up in proxies' logs and history.
QUERY_TOKEN_PATHS = re.compile(r"^/api/v1/campaigns/[^/]+/progress/stream$")
QUERY_TOKEN_PARAMETER = "access_token"

_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


async def _operator_from_token(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> Operator:
    extras = token.extras
    return Operator(
        id=token.sub,
        email=extras.get("email", ""),
        name=extras.get("name", ""),
        role=Role(extras["role"]),
        credentials_version=extras.get("pwv", 0),
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
        description="An access token from POST /api/v1/auth/login or /api/v1/auth/refresh",
    )


def issue_token(auth: JWTAuth[Operator], account: Account) -> str:
    return auth.create_token(
        identifier=account.id,
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
