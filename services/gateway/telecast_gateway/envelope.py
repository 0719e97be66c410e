"""The response envelope of the spec, and the one place errors become HTTP statuses.

Success: ``{"success": true, "data": …}``. Error: ``{"success": false, "error": {"code",
"message", "details"}}``. Every exception that reaches the client goes through
``exception_handlers``: no stack trace or internal message ever leaves the gateway.
"""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from telecast_gateway.operators import OperatorCode
from telecast_libs.contracts.contacts import ContactErrorCode
from telecast_libs.contracts.errors import ErrorBody, ErrorCode, Problem
from telecast_libs.contracts.segments import EXECUTION_NOT_FOUND, SEGMENT_NOT_FOUND
from telecast_libs.contracts.templates import TEMPLATE_NOT_FOUND
from telecast_libs.contracts.tracking import TrackingErrorCode
from telecast_libs.contracts.webhooks import WebhookErrorCode
from telecast_libs.log import get_logger

log = get_logger(__name__)

T = TypeVar("T")

STATUS_OF_CODE = {
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.PASSWORD_CHANGE_REQUIRED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CAMPAIGN_NOT_FOUND: 404,
    SEGMENT_NOT_FOUND: 404,
    EXECUTION_NOT_FOUND: 404,
    ErrorCode.INVALID_STATE_TRANSITION: 409,
    ErrorCode.EDIT_NOT_ALLOWED: 409,
    ErrorCode.VERSION_CONFLICT: 409,
    ErrorCode.PRECONDITION_FAILED: 412,
    ErrorCode.SCHEDULE_OUTSIDE_DATES: 409,
    ErrorCode.CONFLICTS_WITH_CAMPAIGN: 409,
    # A bug behind the gateway (a retry fails the same way), logged where it happened.
    ErrorCode.INTERNAL_ERROR: 500,
    # The service is not answering: worth a retry.
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    # Operators
    OperatorCode.USER_NOT_FOUND: 404,
    OperatorCode.EMAIL_TAKEN: 409,
    OperatorCode.LAST_ADMIN: 409,
    # The credential the request carries (the current password) does not grant the change
    # (RFC 9110, 15.5.4); the token itself is fine, so not 401.
    OperatorCode.WRONG_PASSWORD: 403,
    OperatorCode.ACCOUNT_DISABLED: 403,
    # Contacts
    ContactErrorCode.CONTACT_NOT_FOUND: 404,
    ContactErrorCode.CONTACT_EXISTS: 409,
    # Content: a campaign names a template that does not exist (execute, preview).
    TEMPLATE_NOT_FOUND: 409,
    # Webhooks
    WebhookErrorCode.WEBHOOK_NOT_FOUND: 404,
    WebhookErrorCode.DELIVERY_NOT_FOUND: 404,
    # The deployment's policy refuses the target (RFC 9110, 15.5.4: understood, refused).
    WebhookErrorCode.WEBHOOK_TARGET_NOT_ALLOWED: 403,
    WebhookErrorCode.DELIVERY_PENDING: 409,
    # Tracking
    TrackingErrorCode.RECIPIENT_NOT_FOUND: 404,
    TrackingErrorCode.LINK_NOT_FOUND: 404,
}

_CODE_OF_STATUS = {
    400: ErrorCode.VALIDATION_ERROR,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: ErrorCode.TOO_MANY_REQUESTS,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


class Envelope(msgspec.Struct, Generic[T]):
    """A successful answer."""

    success: bool
    data: T


class ErrorEnvelope(msgspec.Struct):
    """A refused or failed request."""

    success: bool
    error: ErrorBody


def ok(data: T) -> Envelope[T]:
    return Envelope(success=True, data=data)


# Control characters (NUL among them) in what an error echoes of the request: written as
# the escape a reader sees (``\u0000``), so an answer carries no raw control character into
# a client's terminal or log, and its text is what the document says (no NUL).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if isinstance(value, list):
        return [_printable(item) for item in value]
    if isinstance(value, dict):
        return {_printable(key): _printable(item) for key, item in value.items()}
    return value


def _error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict | None = None
) -> Response[ErrorEnvelope]:
    body = ErrorBody(code=code, message=_printable(message), details=_printable(details))
    return Response(
        ErrorEnvelope(success=False, error=body),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def problem_handler(_: Request, problem: Problem) -> Response[ErrorEnvelope]:
    status = STATUS_OF_CODE.get(problem.code, 500)
    return _error_response(status, problem.code, problem.message, problem.details)


def validation_handler(_: Request, error: ValidationException) -> Response[ErrorEnvelope]:
    details = []
    for item in error.extra or []:
        if isinstance(item, dict):
            details.append(
                {
                    "field": item.get("key") or "body",
                    "source": item.get("source"),
                    "message": item.get("message"),
                }
            )
    message = f"the request body is not valid: {error.detail}"
    if details:
        first = details[0]
        message = f"{first['field']}: {first['message']}"
    return _error_response(400, ErrorCode.VALIDATION_ERROR, message, details or None)


def http_handler(_: Request, error: HTTPException) -> Response[ErrorEnvelope]:
    status = error.status_code
    if status >= 500:
        log.error("http.server_error", status=status, detail=error.detail)
        return _error_response(status, ErrorCode.INTERNAL_ERROR, "internal error")
    code = _CODE_OF_STATUS.get(status, "HTTP_ERROR")
    return _error_response(status, code, error.detail, headers=error.headers)


def too_deep_handler(request: Request, _: RecursionError) -> Response[ErrorEnvelope]:
    # JSON nested thousands of levels deep: a client's mistake or a probe, not our bug. One
    # quiet line, no traceback (the decoder's recursion limit answered it).
    log.info("http.json_too_deep", path=request.url.path)
    return _error_response(
        400, ErrorCode.VALIDATION_ERROR, "the request body is nested too deeply to be read"
    )


def unexpected_handler(request: Request, error: Exception) -> Response[ErrorEnvelope]:
    log.exception("http.unhandled", path=request.url.path, error=repr(error))
    return _error_response(500, ErrorCode.INTERNAL_ERROR, "internal error")


exception_handlers = {
    Problem: problem_handler,
    ValidationException: validation_handler,
    HTTPException: http_handler,
    RecursionError: too_deep_handler,
    Exception: unexpected_handler,
}
