"""Bearer tokens (JWT, HS256) and role guards.

A token carries the operator's id, email and role, so that a request needs no database
lookup; it expires after ``TOKEN_TTL_SECONDS``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token

from telecast_gateway.operators import Operator, Role

# Paths anyone may call: logging in, probes, metrics and the API description.
PUBLIC_PATHS = ["^/api/v1/auth/login$", "^/health$", "^/ready$", "^/metrics$", "^/schema"]


async def _operator_from_token(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> Operator:
    extras = token.extras
    return Operator(
        id=token.sub,
        email=extras.get("email", ""),
        name=extras.get("name", ""),
        role=Role(extras["role"]),
    )


def build_auth(secret: str, ttl_seconds: int) -> JWTAuth[Operator]:
    return JWTAuth[Operator](
        token_secret=secret,
        retrieve_user_handler=_operator_from_token,
        exclude=PUBLIC_PATHS,
        default_token_expiration=timedelta(seconds=ttl_seconds),
        description="A token from POST /api/v1/auth/login",
    )


def issue_token(auth: JWTAuth[Operator], operator: Operator) -> str:
    return auth.create_token(
        identifier=operator.id,
        token_extras={"email": operator.email, "name": operator.name, "role": operator.role},
    )


def requires(*roles: Role) -> Any:
    """A guard admitting only operators with one of ``roles``."""

    def guard(connection: ASGIConnection[Any, Operator, Any, Any], _: BaseRouteHandler) -> None:
        if connection.user.role not in roles:
            allowed = " or ".join(roles)
            raise PermissionDeniedException(f"this needs the {allowed} role")

    return guard


can_write_campaigns = requires(Role.ADMIN, Role.MANAGER)
