"""``/api/v1/auth``: log in, refresh tokens, log out, who am I, change my password.

An access token is a JWT valid for ``TOKEN_TTL_SECONDS`` (15 minutes by default) and checked
against the stored operator on every request; a refresh token is an opaque string, stored as
a digest, that can be spent once for a new pair, and logging out revokes its login.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import TooManyRequestsException
from litestar.openapi.datastructures import ResponseSpec

from telecast_gateway.envelope import Envelope, ErrorEnvelope, ok
from telecast_gateway.login_throttle import LoginThrottle, TooManyLogins
from telecast_gateway.operators import Account, AccountDisabled, Operator, OperatorStore
from telecast_gateway.routes.users import errors
from telecast_gateway.schemas import (
    AccessToken,
    LoggedOut,
    LoginRequest,
    LogoutRequest,
    OperatorView,
    PasswordChange,
    RefreshRequest,
)
from telecast_gateway.security import issue_token
from telecast_libs.contracts.errors import ErrorCode, Problem


class InvalidCredentials(Problem):
    code = ErrorCode.UNAUTHORIZED


async def _tokens(state: State, operators: OperatorStore, account: Account) -> AccessToken:
    """A new access token and a refresh token starting a new family."""
    return AccessToken(
        access_token=issue_token(state.auth, account),
        token_type="Bearer",
        expires_in=state.settings.token_ttl_seconds,
        refresh_token=await operators.issue_refresh_token(account),
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        operation_id="login",
        status_code=200,
        summary="Exchange email and password for tokens",
        description="An access token (a JWT for `Authorization: Bearer`, valid `expiresIn` "
        "seconds) and a refresh token (valid `REFRESH_TOKEN_TTL_SECONDS`, 30 days by "
        "default, for POST /api/v1/auth/refresh).",
        responses={
            400: ResponseSpec(
                ErrorEnvelope, generate_examples=False, description="The body is not valid"
            ),
            401: ResponseSpec(
                ErrorEnvelope, generate_examples=False, description="Wrong email or password"
            ),
            403: ResponseSpec(
                ErrorEnvelope,
                generate_examples=False,
                description="ACCOUNT_DISABLED: an administrator disabled this operator",
            ),
            429: ResponseSpec(
                ErrorEnvelope,
                generate_examples=False,
                description="TOO_MANY_REQUESTS: too many failed logins from this address or "
                "for this account, or too many logins being checked at once; `Retry-After` "
                "says when to try again",
            ),
        },
        security=[],
    )
    async def login(
        self, request: Request, data: LoginRequest, operators: OperatorStore, state: State
    ) -> Envelope[AccessToken]:
        throttle: LoginThrottle = state.login_throttle
        address = request.client.host if request.client else "unknown"
        try:
            throttle.check(address, data.email)
            async with throttle.hashing():
                account = await operators.authenticate(data.email, data.password)
        except TooManyLogins as refused:
            raise TooManyRequestsException(
                refused.reason, headers={"Retry-After": str(refused.retry_after)}
            ) from None
        if account is None:
            throttle.failed(address, data.email)
            raise InvalidCredentials("wrong email or password")
        throttle.succeeded(data.email)
        if account.disabled:
            raise AccountDisabled("this operator is disabled: ask an administrator")
        return ok(await _tokens(state, operators, account))

    @post(
        "/logout",
        status_code=200,
        operation_id="logout",
        summary="Log out",
        description="Ends the login that the refresh token belongs to: it and every token "
        "refreshed from it stop working (other logins of the operator go on). Access tokens "
        "of that login lapse within their life (`expiresIn`). An unknown or spent refresh "
        "token answers the same, so that a retry is harmless. Any role.",
        responses=errors(400, 401),
    )
    async def logout(self, data: LogoutRequest, operators: OperatorStore) -> Envelope[LoggedOut]:
        await operators.log_out(data.refresh_token)
        return ok(LoggedOut(message="logged out"))

    @post(
        "/refresh",
        operation_id="refreshToken",
        status_code=200,
        summary="Exchange a refresh token for new tokens",
        description="Spends the refresh token and answers a new access token and a new "
        "refresh token (rotation). A refresh token works once: presenting one already spent "
        "revokes every token descended from the same login, so a stolen copy is useless as "
        "soon as either party uses it. A new password or role, or the operator's deletion, "
        "also revokes them.",
        responses={
            400: ResponseSpec(
                ErrorEnvelope, generate_examples=False, description="The body is not valid"
            ),
            401: ResponseSpec(
                ErrorEnvelope,
                generate_examples=False,
                description="The refresh token is unknown, expired, revoked or already spent",
            ),
        },
        security=[],
    )
    async def refresh(
        self, data: RefreshRequest, operators: OperatorStore, state: State
    ) -> Envelope[AccessToken]:
        account, refresh_token = await operators.rotate_refresh_token(data.refresh_token)
        return ok(
            AccessToken(
                access_token=issue_token(state.auth, account),
                token_type="Bearer",
                expires_in=state.settings.token_ttl_seconds,
                refresh_token=refresh_token,
            )
        )

    @get(
        "/me",
        operation_id="getCurrentOperator",
        summary="The calling operator",
        description="The operator the token belongs to, as stored now. Any role.",
        responses=errors(401),
    )
    async def me(
        self, request: Request[Operator, Any, State], operators: OperatorStore
    ) -> Envelope[OperatorView]:
        return ok(OperatorView.of(await operators.current(request.user)))

    @post(
        "/password",
        operation_id="changePassword",
        status_code=200,
        summary="Change my password",
        description="Needs the current password (a wrong one answers 403 `WRONG_PASSWORD`: "
        "the token is fine, so not 401, and the credential the body carries does not grant "
        "the change). Every refresh token of the operator stops working "
        "and the access tokens issued before no longer pass `/api/v1/auth/me` and "
        "`/api/v1/users`; the answer carries a fresh pair for the caller. Any role.",
        responses=errors(
            400,
            401,
            403,
            s400="The body is not valid (VALIDATION_ERROR: the new password needs 10 to 1024 "
            "characters and must not be a common one)",
            s403="currentPassword is not the operator's password (WRONG_PASSWORD)",
        ),
    )
    async def change_password(
        self,
        request: Request[Operator, Any, State],
        data: PasswordChange,
        operators: OperatorStore,
        state: State,
    ) -> Envelope[AccessToken]:
        account = await operators.change_password(
            request.user, data.current_password, data.new_password
        )
        return ok(await _tokens(state, operators, account))
