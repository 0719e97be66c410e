"""``/api/v1/auth``: log in for a Bearer token."""

from __future__ import annotations

from litestar import Controller, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from telecast_gateway.envelope import Envelope, ErrorEnvelope, ok
from telecast_gateway.operators import OperatorStore
from telecast_gateway.schemas import AccessToken, LoginRequest
from telecast_gateway.security import issue_token
from telecast_libs.contracts.errors import ErrorCode, Problem


class InvalidCredentials(Problem):
    code = ErrorCode.UNAUTHORIZED


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        status_code=200,
        summary="Exchange email and password for a Bearer token",
        responses={401: ResponseSpec(ErrorEnvelope, description="Wrong email or password")},
        security=[],
    )
    async def login(
        self, data: LoginRequest, operators: OperatorStore, state: State
    ) -> Envelope[AccessToken]:
        operator = await operators.authenticate(data.email, data.password)
        if operator is None:
            raise InvalidCredentials("wrong email or password")
        token = issue_token(state.auth, operator)
        return ok(
            AccessToken(
                access_token=token,
                token_type="Bearer",
                expires_in=state.settings.token_ttl_seconds,
            )
        )
