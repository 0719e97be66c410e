"""What the OpenAPI description of ``/api/v1/campaigns`` shows beyond the types.

The examples come from the spec (``spec/campaigns-api.md``: Black Friday, Summer Sale…),
adapted to what the API answers (ids are UUIDs, answers to writes carry ``version``).
``errors`` documents the error answers a handler can give, one example per error code, and
``documented`` adds what Litestar's decorators cannot declare: examples on the request body
and on the success answer, and a body that may be left out. ``tests/e2e/test_openapi.py``
checks every example against its schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIResponse, Operation, RequestBody

from telecast_gateway.envelope import ErrorEnvelope
from telecast_libs.contracts.errors import ErrorCode

SUMMER_SALE_ID = "5f0c8a9e-3c1b-4b7e-9a51-2d6f1e8c4a10"
BLACK_FRIDAY_ID = "0b1e6a52-7d4f-4c39-8f0e-6a2d9c3b7e15"
CLONE_ID = "c7d2e4f1-9a3b-4e6c-8d5f-1b2a3c4d5e6f"
OPERATOR_ID = "2f9d7c1e-4b8a-4f3d-9e6c-5a1b2c3d4e5f"
EXECUTION_ID = "9e7b9689-5cea-434f-bfaf-339f997acbc7"


def _ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


# What operators write ------------------------------------------------------------------------

BLACK_FRIDAY = {
    "name": "Black Friday Campaign",
    "description": "Massive discounts for Black Friday",
    "type": "message",
    "goals": {"targetAudience": 20000, "conversionRate": 10, "revenue": 100000},
    "targetAudience": {
        "segments": ["seg789"],
        "filters": {"location": ["US"], "purchaseHistory": True},
    },
    "messages": [
        {
            "templateId": "tmpl456",
            "personalization": {"enabled": True, "fields": ["firstName", "lastPurchase"]},
        }
    ],
    "budget": 10000,
    "startDate": "2024-11-24T00:00:00Z",
    "endDate": "2024-11-30T23:59:59Z",
}

CREATE_EXAMPLES = {
    "blackFriday": Example(
        summary="Black Friday, with audience, template and budget", value=BLACK_FRIDAY
    ),
    "minimal": Example(
        summary="Only what is required",
        value={"name": "Black Friday", "type": "message", "startDate": "2024-11-24T00:00:00Z"},
    ),
    "abTest": Example(
        summary="A message with an A/B variation taking half of the audience",
        value={
            "name": "Summer Sale Campaign",
            "type": "message",
            "targetAudience": {"segments": ["seg123", "seg456"]},
            "messages": [
                {
                    "content": "🌞 Summer Sale! Get 30% off on all items!",
                    "variations": [
                        {"content": "☀️ Hot Summer Deals! Save 30% today!", "weight": 50}
                    ],
                }
            ],
        },
    ),
    "invitation": Example(
        summary="An invitation: each recipient gets a link of their own to a channel",
        value={
            "name": "VIP Channel Invitation",
            "type": "invitation",
            "targetAudience": {"segments": ["seg789"]},
            "messages": [
                {"content": "Hi {{firstName|there}}! Join our VIP channel: {{inviteLink}}"}
            ],
            "invitation": {"chatId": -1001234567890, "expireHours": 72, "memberLimit": 1},
        },
    ),
}

UPDATE_EXAMPLES = {
    "renameAndStart": Example(
        summary="New name, description and goals, and start it (as execute would)",
        value={
            "name": "Updated Campaign Name",
            "description": "Updated description",
            "goals": {"targetAudience": 25000, "conversionRate": 12},
            "status": "active",
        },
    ),
    "reschedule": Example(
        summary="Move the dates",
        value={"startDate": "2024-11-25T00:00:00Z", "endDate": "2024-12-01T23:59:59Z"},
    ),
    "removeFields": Example(
        summary="Remove the budget and the goals' revenue (null removes; the other goals stay)",
        value={"budget": None, "goals": {"revenue": None}},
    ),
}

EXECUTE_EXAMPLES = {
    "scheduled": Example(
        summary="Start at a given time, with high priority",
        value={
            "testMode": False,
            "targetPercentage": 100,
            "priority": "high",
            "scheduledAt": "2024-11-24T10:00:00Z",
        },
    ),
    "testRun": Example(
        summary="Now, to test recipients only, on a tenth of the audience",
        value={"testMode": True, "targetPercentage": 10},
    ),
}

CLONE_EXAMPLES = {
    "named": Example(
        summary="A copy with a name of its own",
        value={"name": "Cloned Campaign Name", "resetStatistics": True},
    ),
    "default": Example(summary="Named `<name> (Copy)`", value={}),
    "keepStatistics": Example(
        summary="The copy carries the source's statistics as a baseline, apart from its own",
        value={"resetStatistics": False},
    ),
}

# What the API answers ------------------------------------------------------------------------

_STATISTICS = {
    "totalTasks": 100,
    "completedTasks": 45,
    "failedTasks": 2,
    "messagesSent": 4500,
    "conversionsAchieved": 225,
    "totalCost": 2250,
}

SUMMER_SALE = {
    "id": SUMMER_SALE_ID,
    "name": "Summer Sale Campaign",
    "description": "Promotional campaign for summer products",
    "type": "message",
    "status": "active",
    "version": 7,
    "goals": {"targetAudience": 10000, "conversionRate": 5, "revenue": 50000},
    # As counted when its execution started (the list does not count).
    "targetAudience": {
        "segments": ["seg123", "seg456"],
        "totalCount": 8500,
        "countedAt": "2024-06-01T00:00:02Z",
    },
    "strategy": {
        "messaging": "Focus on discount offers",
        "timing": "Send during peak hours",
        "channels": ["telegram"],
    },
    "budget": 5000,
    "startDate": "2024-06-01T00:00:00Z",
    "endDate": "2024-08-31T23:59:59Z",
    "statistics": _STATISTICS,
    "createdBy": OPERATOR_ID,
    "createdAt": "2024-05-15T10:00:00Z",
    "updatedAt": "2024-06-15T14:30:00Z",
}

SUMMER_SALE_DETAIL = {
    **SUMMER_SALE,
    "targetAudience": {
        "segments": ["seg123", "seg456"],
        "filters": {
            "location": ["US", "CA"],
            "ageRange": [18, 45],
            "interests": ["shopping", "fashion"],
        },
        "totalCount": 8500,
    },
    "messages": [
        {
            "id": "msg1",
            "templateId": "tmpl123",
            "content": "🌞 Summer Sale! Get 30% off on all items!",
            "variations": [
                {"id": "var1", "content": "☀️ Hot Summer Deals! Save 30% today!", "weight": 50}
            ],
        }
    ],
    "workflow": {
        "id": "wf123",
        "name": "Summer Sale Workflow",
        "triggers": ["manual", "scheduled"],
    },
    "execution": {
        "executionId": EXECUTION_ID,
        "testMode": False,
        "targetPercentage": 100,
        "priority": "high",
        "scheduledAt": "2024-06-01T08:00:00Z",
        "startedAt": "2024-06-01T08:00:00.204Z",
        "late": False,
    },
}

LIST_ANSWER = {
    "summerSale": Example(
        summary="The first page of active campaigns, 20 a page",
        value=_ok(
            {
                "campaigns": [SUMMER_SALE],
                "pagination": {"page": 1, "limit": 20, "total": 45, "pages": 3},
            }
        ),
    )
}

DETAIL_ANSWER = {"summerSale": Example(summary="An active campaign", value=_ok(SUMMER_SALE_DETAIL))}

CREATED_ANSWER = {
    "created": Example(
        summary="A new draft",
        value=_ok(
            {
                "id": BLACK_FRIDAY_ID,
                "name": "Black Friday Campaign",
                "status": "draft",
                "version": 1,
                "message": "Campaign created successfully",
            }
        ),
    )
}

UPDATED_ANSWER = {
    "updated": Example(
        summary="The campaign's name, status and new version",
        value=_ok(
            {
                "id": BLACK_FRIDAY_ID,
                "name": "Updated Campaign Name",
                "status": "active",
                "version": 3,
                "message": "Campaign updated successfully",
            }
        ),
    )
}

DELETED_ANSWER = {
    "deleted": Example(summary="Deleted", value=_ok({"message": "Campaign deleted successfully"}))
}

EXECUTED_ANSWER = {
    "started": Example(
        summary="Started now",
        value=_ok(
            {
                "executionId": EXECUTION_ID,
                "status": "started",
                "estimatedCompletion": "2024-11-24T12:00:00Z",
                "message": "Campaign execution started",
            }
        ),
    ),
    "scheduled": Example(
        summary="Scheduled: scheduledAt is in the future",
        value=_ok(
            {
                "executionId": EXECUTION_ID,
                "status": "scheduled",
                "message": "Campaign execution scheduled",
                "scheduledAt": "2024-11-24T10:00:00Z",
                "estimatedCompletion": "2024-11-24T12:00:00Z",
            }
        ),
    ),
}

PAUSED_ANSWER = {
    "paused": Example(
        summary="Paused",
        value=_ok(
            {
                "status": "paused",
                "message": "Campaign paused successfully",
                "pausedAt": "2024-06-20T15:30:00Z",
            }
        ),
    )
}

RESUMED_ANSWER = {
    "resumed": Example(
        summary="Active again",
        value=_ok(
            {
                "status": "active",
                "message": "Campaign resumed successfully",
                "resumedAt": "2024-06-21T09:00:00Z",
            }
        ),
    )
}

CLONED_ANSWER = {
    "cloned": Example(
        summary="The copy, a new draft",
        value=_ok(
            {
                "id": CLONE_ID,
                "name": "Summer Sale Campaign (Copy)",
                "status": "draft",
                "version": 1,
                "message": "Campaign cloned successfully",
            }
        ),
    )
}

STATISTICS_ANSWER = {
    "all": Example(
        summary="Every section (metrics=all), daily timeline",
        value=_ok(
            {
                "overview": {
                    "messagesSent": 8500,
                    "delivered": 8200,
                    "read": 6500,
                    "clicked": 1200,
                    "converted": 425,
                    "revenue": 42500,
                },
                "performance": {
                    "deliveryRate": 96.5,
                    "readRate": 76.5,
                    "clickRate": 14.1,
                    "conversionRate": 5.0,
                },
                "timeline": [
                    {"date": "2024-06-01", "sent": 1000, "delivered": 960, "conversions": 48}
                ],
                "segments": [
                    {
                        "segmentId": "seg123",
                        "name": "Premium Users",
                        "performance": {"sent": 2000, "conversionRate": 8.5},
                    }
                ],
            }
        ),
    ),
    "figures": Example(
        summary="metrics=messagesSent,deliveryRate: single figures",
        value=_ok({"overview": {"messagesSent": 8500}, "performance": {"deliveryRate": 96.5}}),
    ),
    "overviewOnly": Example(
        summary="metrics=overview",
        value=_ok(
            {
                "overview": {
                    "messagesSent": 8500,
                    "delivered": 8200,
                    "read": 6500,
                    "clicked": 1200,
                    "converted": 425,
                    "revenue": 42500,
                }
            }
        ),
    ),
}

PROGRESS_ANSWER = {
    "running": Example(
        summary="An execution under way",
        value=_ok(
            {
                "status": "running",
                "progress": {
                    "percentage": 65,
                    "processed": 5525,
                    "total": 8500,
                    "successful": 5300,
                    "failed": 225,
                },
                "currentRate": 120,
                "estimatedCompletion": "2024-06-20T16:45:00Z",
                "errors": [
                    {"code": "USER_BLOCKED", "count": 150, "message": "User has blocked the bot"}
                ],
            }
        ),
    )
}

ETAG = ResponseHeader(
    name="ETag",
    value='"7"',
    documentation_only=True,
    description="The campaign's version after this answer, for `If-Match`",
)

# Errors --------------------------------------------------------------------------------------


class ErrorDoc(NamedTuple):
    status: int
    meaning: str
    message: str
    details: Any = None


# Every code a campaign endpoint can answer, with a real message.
ERRORS: dict[str, ErrorDoc] = {
    ErrorCode.VALIDATION_ERROR: ErrorDoc(
        400,
        "a parameter, header or the body is not valid; `details` names the field",
        "name: Expected `str` of length >= 1",
        [{"field": "name", "source": "body", "message": "Expected `str` of length >= 1"}],
    ),
    ErrorCode.UNAUTHORIZED: ErrorDoc(
        401, "no valid Bearer token", "No JWT token found in request header"
    ),
    ErrorCode.FORBIDDEN: ErrorDoc(
        403, "the operator's role does not allow this", "this needs the admin or manager role"
    ),
    ErrorCode.TOO_MANY_REQUESTS: ErrorDoc(
        429,
        "the operator has as many progress streams open as allowed; `Retry-After` says when "
        "to try again",
        "at most 5 progress streams at once per operator: close one",
    ),
    ErrorCode.CAMPAIGN_NOT_FOUND: ErrorDoc(
        404,
        "no such campaign, or it was deleted",
        f"campaign {SUMMER_SALE_ID} does not exist",
    ),
    ErrorCode.INVALID_STATE_TRANSITION: ErrorDoc(
        409,
        "the action is not possible in the campaign's status",
        "cannot pause a campaign that is draft",
        {"status": "draft", "allowedFrom": ["active"]},
    ),
    ErrorCode.EDIT_NOT_ALLOWED: ErrorDoc(
        409,
        "the change is not allowed in the campaign's status",
        "messages can only change while the campaign is a draft",
        {"status": "active", "fields": ["messages"]},
    ),
    ErrorCode.CONFLICTS_WITH_CAMPAIGN: ErrorDoc(
        409,
        "the change is valid by itself but not with what the campaign stores (a `startDate` "
        "not before the stored `endDate`); `details` names the field",
        "startDate must be before endDate, once this change is applied to the campaign as stored",
        [{"field": "endDate", "message": "must be after startDate"}],
    ),
    ErrorCode.VERSION_CONFLICT: ErrorDoc(
        409,
        "a concurrent change won; read the campaign again and retry",
        "changed concurrently by another command; retry",
    ),
    ErrorCode.SCHEDULE_OUTSIDE_DATES: ErrorDoc(
        409,
        "`scheduledAt` is before the campaign's `startDate` or not before its `endDate`",
        "scheduledAt (2024-11-23T10:00:00Z) is before the campaign's startDate "
        "(2024-11-24T00:00:00Z); schedule it at or after startDate, or change startDate",
        {
            "field": "scheduledAt",
            "startDate": "2024-11-24T00:00:00Z",
            "endDate": "2024-11-30T23:59:59Z",
        },
    ),
    "IDEMPOTENCY_KEY_IN_USE": ErrorDoc(
        409,
        "a request with this Idempotency-Key is still running",
        "a request with this Idempotency-Key is still running; retry shortly",
    ),
    ErrorCode.PRECONDITION_FAILED: ErrorDoc(
        412,
        "If-Match names a version that is no longer current",
        "campaign is at version 8, not 7",
        {"currentVersion": 8},
    ),
    "PAYLOAD_TOO_LARGE": ErrorDoc(413, "the body is over 1 MiB", "Request Entity Too Large"),
    "IDEMPOTENCY_KEY_REUSED": ErrorDoc(
        409,
        "this Idempotency-Key was used before with another request",
        "this Idempotency-Key was used with another request; use a new key",
    ),
    ErrorCode.SERVICE_UNAVAILABLE: ErrorDoc(
        503,
        "the campaign or projection service is not answering",
        "the campaign service did not answer in time",
    ),
}


def error_responses(catalogue: dict[str, ErrorDoc], *codes: str) -> dict[int, ResponseSpec]:
    """The error answers of a handler that can answer ``codes`` (documented in
    ``catalogue``), grouped by status, each with an example."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(catalogue[code].status, []).append(code)
    return {
        status: ResponseSpec(
            ErrorEnvelope,
            generate_examples=False,
            description="; ".join(f"`{code}`: {catalogue[code].meaning}" for code in grouped),
            examples=[_error_example(code, catalogue[code]) for code in grouped],
        )
        for status, grouped in sorted(by_status.items())
    }


def errors(*codes: str) -> dict[int, ResponseSpec]:
    """The error answers of a campaign handler that can answer ``codes``."""
    return error_responses(ERRORS, *codes)


def _error_example(code: str, doc: ErrorDoc) -> Example:
    error: dict[str, Any] = {"code": code, "message": doc.message}
    if doc.details is not None:
        error["details"] = doc.details
    return Example(summary=doc.meaning, value={"success": False, "error": error})


def documented(
    *,
    answer: Mapping[str, Example],
    body: Mapping[str, Example] | None = None,
    optional_body: bool = False,
) -> type[Operation]:
    """An OpenAPI ``Operation`` class (for a handler's ``operation_class``) that adds
    examples of the success answer and of the request body, names the error examples by
    their code, and marks an optional body as such (Litestar declares every body required)."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if isinstance(self.request_body, RequestBody):
                self.request_body.required = not optional_body
                for media in self.request_body.content.values():
                    media.examples = dict(body) if body else media.examples
            responses = self.responses or {}
            success = min(status for status in responses if status.startswith("2"))
            for status, response in responses.items():
                if not isinstance(response, OpenAPIResponse):
                    continue
                for media in (response.content or {}).values():
                    if status == success:
                        media.examples = dict(answer)
                    elif media.examples:
                        # Litestar names them "errorenvelope-example-N"; the code says more.
                        media.examples = {
                            example.value["error"]["code"]: example
                            for example in media.examples.values()
                            if isinstance(example, Example)
                        }

    return DocumentedOperation
