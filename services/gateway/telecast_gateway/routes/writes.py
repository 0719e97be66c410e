"""What every write handler shares: the operator behind a command, conditional writes
(``If-Match`` / ``ETag``) and the documented ``Idempotency-Key`` header."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.params import Parameter

from telecast_gateway.operators import Operator
from telecast_libs.contracts.messages import Actor, CommandMeta
from telecast_libs.log import current_correlation_id, new_correlation_id

# 1-255 printable ASCII characters (idempotency.valid_key), written without the spaces
# around it that HTTP drops from a header's value.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        required=False,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Makes a retried POST return the first answer and change nothing more "
        "(kept 24 h, per operator); 1-255 printable ASCII characters. The same key with "
        "another request answers 409 `IDEMPOTENCY_KEY_REUSED`: use a new key (a UUID) for "
        "each request",
    ),
]
# `*`, or a version as the ETag gives it (`"3"`), weak (`W/"3"`) or bare (`3`).
IF_MATCH_PATTERN = r'^(\*|(W/)?"[0-9]{1,15}"|[0-9]{1,15})$'
IfMatch = Annotated[
    str | None,
    Parameter(
        header="If-Match",
        required=False,
        pattern=IF_MATCH_PATTERN,
        description="The version (ETag) the change is based on, or `*`; a stale one answers "
        "412 `PRECONDITION_FAILED`",
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
    """The version an ``If-Match`` names (``"3"``, ``W/"3"``); None for none or ``*``.
    Its form was checked against ``IF_MATCH_PATTERN`` (400 otherwise)."""
    if if_match is None or if_match == "*":
        return None
    return int(if_match.removeprefix("W/").strip('"'))


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}
