"""Error codes shared by every service, and the error shape that travels in replies."""

from __future__ import annotations

from typing import Any

from telecast_libs.contracts.base import Wire


class ErrorCode:
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    CAMPAIGN_NOT_FOUND = "CAMPAIGN_NOT_FOUND"
    INVALID_STATE_TRANSITION = "INVALID_STATE_TRANSITION"
    EDIT_NOT_ALLOWED = "EDIT_NOT_ALLOWED"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    SCHEDULE_OUTSIDE_DATES = "SCHEDULE_OUTSIDE_DATES"
    # An update valid on its own that breaks a rule with what the campaign stores (409).
    CONFLICTS_WITH_CAMPAIGN = "CONFLICTS_WITH_CAMPAIGN"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    PASSWORD_CHANGE_REQUIRED = "PASSWORD_CHANGE_REQUIRED"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # A command over NATS not signed by a sender the service trusts for it
    # (telecast_libs/command_signing.py): never the gateway's client's fault.
    COMMAND_NOT_AUTHENTIC = "COMMAND_NOT_AUTHENTIC"


class ErrorBody(Wire):
    code: str
    message: str
    details: Any = None


class Problem(Exception):
    """An error with a stable code and a message a user can act on.

    Raised by domain code and service handlers; it crosses NATS as an ``ErrorBody`` and the
    gateway maps its code to an HTTP status in one place.
    """

    code = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def body(self) -> ErrorBody:
        return ErrorBody(code=self.code, message=self.message, details=self.details)
