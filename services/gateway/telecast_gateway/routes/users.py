"""``/api/v1/users``: operator accounts, managed by administrators.

Every endpoint here checks the caller against the database, not only the token: a deleted
or demoted administrator cannot manage operators with a token issued before.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from telecast_gateway.envelope import Envelope, ErrorEnvelope, ok
from telecast_gateway.operators import Operator, OperatorNotFound, OperatorStore
from telecast_gateway.schemas import (
    Deleted,
    NewOperator,
    OperatorChanges,
    OperatorPage,
    OperatorView,
)
from telecast_gateway.security import is_current_admin
from telecast_libs.contracts.views import Pagination

_ERROR_DESCRIPTIONS = {
    400: "The request is not valid (the error names the field)",
    401: "No valid Bearer token, or its operator was deleted or changed since it was issued",
    403: "The operator's role does not allow this",
    404: "No such operator (USER_NOT_FOUND)",
    409: "EMAIL_TAKEN: another operator has this email (ignoring case); "
    "LAST_ADMIN: this would leave no (enabled) administrator",
}


def errors(*statuses: int, **descriptions: str) -> dict[int, ResponseSpec]:
    """OpenAPI error responses; ``descriptions`` (``s400="…"``) override the defaults."""
    return {
        status: ResponseSpec(
            ErrorEnvelope,
            generate_examples=False,
            description=descriptions.get(f"s{status}", _ERROR_DESCRIPTIONS[status]),
        )
        for status in statuses
    }


UserId = Annotated[str, Parameter(description="The operator's id", max_length=100)]


class UsersController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    guards = [is_current_admin]

    @get(
        "/",
        operation_id="listUsers",
        summary="List operators",
        description="A page of operators, oldest first. Administrators only.",
        responses=errors(400, 401, 403),
    )
    async def list_users(
        self,
        operators: OperatorStore,
        page: Annotated[int, Parameter(ge=1, le=1_000_000, description="Page number")] = 1,
        limit: Annotated[int, Parameter(ge=1, le=100, description="Items per page")] = 20,
    ) -> Envelope[OperatorPage]:
        accounts, total = await operators.page(page, limit)
        return ok(
            OperatorPage(
                users=[OperatorView.of(account) for account in accounts],
                pagination=Pagination(
                    page=page, limit=limit, total=total, pages=math.ceil(total / limit)
                ),
            )
        )

    @get(
        "/{user_id:str}",
        operation_id="getUser",
        summary="Get an operator",
        description="Administrators only.",
        responses=errors(400, 401, 403, 404),
    )
    async def get_user(self, operators: OperatorStore, user_id: UserId) -> Envelope[OperatorView]:
        account = await operators.get(user_id)
        if account is None:
            raise OperatorNotFound(f"no operator with the id {user_id!r}")
        return ok(OperatorView.of(account))

    @post(
        "/",
        operation_id="createUser",
        summary="Create an operator",
        description="An operator with a role: `admin` (manages operators and everything "
        "else), `manager` (writes campaigns) or `viewer` (reads). The password needs 10 to "
        "1024 characters and must not be a common password. Administrators only.",
        status_code=201,
        responses=errors(400, 401, 403, 409, s409="EMAIL_TAKEN: another operator has this email"),
    )
    async def create_user(
        self, request: Request[Operator, Any, State], data: NewOperator, operators: OperatorStore
    ) -> Envelope[OperatorView]:
        account = await operators.create(
            request.user, email=data.email, password=data.password, name=data.name, role=data.role
        )
        return ok(OperatorView.of(account))

    @put(
        "/{user_id:str}",
        operation_id="updateUser",
        summary="Update an operator",
        description="Changes the fields present in the body (email, name, role, password, "
        "disabled). A new password or role, or `disabled: true`, signs the operator out at "
        "once: their refresh tokens and access tokens stop working on every gateway. A "
        "disabled operator cannot log in until `disabled: false`. Demoting or disabling the "
        "last administrator is refused. Administrators only.",
        responses=errors(400, 401, 403, 404, 409),
    )
    async def update_user(
        self,
        request: Request[Operator, Any, State],
        user_id: UserId,
        data: OperatorChanges,
        operators: OperatorStore,
    ) -> Envelope[OperatorView]:
        account = await operators.update(
            request.user,
            user_id,
            email=data.email,
            name=data.name,
            role=data.role,
            password=data.password,
            disabled=data.disabled,
        )
        return ok(OperatorView.of(account))

    @delete(
        "/{user_id:str}",
        operation_id="deleteUser",
        summary="Delete an operator",
        description="The operator can no longer log in, and their refresh tokens stop "
        "working. Deleting the last administrator is refused. Administrators only.",
        status_code=200,
        responses=errors(
            400, 401, 403, 404, 409, s409="LAST_ADMIN: this is the last administrator"
        ),
    )
    async def delete_user(
        self, request: Request[Operator, Any, State], user_id: UserId, operators: OperatorStore
    ) -> Envelope[Deleted]:
        await operators.delete(request.user, user_id)
        return ok(Deleted(message="Operator deleted successfully"))
