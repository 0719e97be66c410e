"""What every write handler shares: the operator behind a command, conditional writes
(``If-Match`` / ``ETag``) and the documented ``Idempotency-Key`` header."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.params import Parameter

from telecast_gateway.operators import Operator
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import Actor, CommandMeta
from telecast_libs.log import current_correlation_id, new_correlation_id

IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        required=False,
        max_length=255,
        description="Makes a retried POST return the first answer and change nothing more "
        "(kept 24 h, per operator)",
    ),
]
IfMatch = Annotated[
    str | None,
    Parameter(
        header="If-Match",
        required=False,
        description="The version (ETag) the change is based on; a stale one answers 412",
    ),
]


def command_meta(request: Request[Operator, Any, State]) -> CommandMeta:
    """Who sends the command (from the token) and the request's correlation id."""
    operator = request.user
    return CommandMeta(
        actor=Actor(id=operator.id, email=operator.email, role=operator.role),
        correlation_id=current_correlation_id() or new_correlation_id(),
    )


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` names (``"3"``, ``W/"3"``); None for none or ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(
            f"If-Match {if_match!r} is not a version this API issued",
            code=ErrorCode.PRECONDITION_FAILED,
        )
    return int(tag)


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}
