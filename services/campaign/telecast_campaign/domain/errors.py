"""Domain errors, each with the stable code the gateway maps to HTTP."""

from __future__ import annotations

from telecast_libs.contracts.errors import ErrorCode, Problem


class ValidationFailed(Problem):
    code = ErrorCode.VALIDATION_ERROR


class CampaignNotFound(Problem):
    code = ErrorCode.CAMPAIGN_NOT_FOUND


class EditNotAllowed(Problem):
    code = ErrorCode.EDIT_NOT_ALLOWED


class InvalidStateTransition(Problem):
    code = ErrorCode.INVALID_STATE_TRANSITION


class ScheduleOutsideDates(Problem):
    """An execution's ``scheduledAt`` before the campaign's ``startDate`` or not before its
    ``endDate``."""

    code = ErrorCode.SCHEDULE_OUTSIDE_DATES


class ChangeConflicts(Problem):
    """An update valid on its own that, applied to what the campaign stores, breaks a rule:
    a ``startDate`` not before the stored ``endDate``, an invitation's ``expireHours`` on a
    campaign with no invitation (RFC 9110: a conflict with the resource's current state)."""

    code = ErrorCode.CONFLICTS_WITH_CAMPAIGN


class StaleVersion(Problem):
    """The client's ``If-Match`` names a version that is no longer current."""

    code = ErrorCode.PRECONDITION_FAILED
