"""What the OpenAPI description of templates and message previews shows beyond the types:
examples of bodies and answers, and the error answers each handler can give (one example per
code, as ``campaign_openapi`` does for campaigns). ``tests/e2e/test_openapi.py`` checks every
example against its schema.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from telecast_gateway.routes.campaign_openapi import (
    ERRORS,
    SUMMER_SALE_ID,
    ErrorDoc,
    documented,
    error_responses,
)
from telecast_libs.contracts.contacts import ContactErrorCode
from telecast_libs.contracts.errors import ErrorCode
from telecast_libs.contracts.templates import TEMPLATE_NOT_FOUND

__all__ = ["documented"]

TEMPLATE_ID = "8d3c2b1a-6f5e-4d7c-9b8a-1e2f3a4b5c6d"
CONTACT_ID = "3b9f1c2d-8e7a-4f6b-9c5d-2a1e0f9b8c7d"
OPERATOR_ID = "2f9d7c1e-4b8a-4f3d-9e6c-5a1b2c3d4e5f"

# The statuses of the codes only these endpoints answer (envelope.STATUS_OF_CODE maps the
# others): a campaign naming a missing template is a conflict with the campaign's state; a
# missing contact, a 404.


def _ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


# What operators write ------------------------------------------------------------------------

WELCOME = {
    "name": "Welcome back",
    "content": "<b>Hi {{firstName|there}}</b>, your last order was on "
    "{{lastPurchase|a while ago}}. Here is 30% off: <code>{{attributes.coupon|SUMMER30}}</code>",
    "parseMode": "html",
    "buttons": [[{"text": "Shop now", "url": "https://shop.example.com/summer"}]],
    "media": {"type": "photo", "url": "https://cdn.example.com/summer.jpg"},
}

CREATE_EXAMPLES = {
    "html": Example(summary="HTML, with a button and a photo", value=WELCOME),
    "markdown": Example(
        summary="MarkdownV2 (reserved characters such as ! are escaped)",
        value={
            "name": "Flash sale",
            "content": "*Flash sale, {{firstName|friend}}\\!* Ends tonight\\.",
            "parseMode": "markdown",
        },
    ),
}

UPDATE_EXAMPLES = {
    "text": Example(
        summary="New text; the rest stays",
        value={"content": "<b>Welcome back, {{firstName|friend}}!</b>"},
    ),
    "noMedia": Example(summary="Remove the photo", value={"media": None}),
}

RENDER_EXAMPLES = {
    "inline": Example(
        summary="For fields given inline",
        value={
            "contact": {
                "firstName": "Jane",
                "lastPurchase": "2024-06-01T12:00:00Z",
                "attributes": {"coupon": "JANE30"},
            }
        },
    ),
    "contact": Example(summary="For a contact", value={"contactId": CONTACT_ID}),
}

# What the API answers ------------------------------------------------------------------------

WELCOME_VIEW = {
    "id": TEMPLATE_ID,
    **WELCOME,
    "placeholders": ["firstName", "lastPurchase", "attributes.coupon"],
    "version": 2,
    "createdBy": OPERATOR_ID,
    "createdAt": "2024-05-15T10:00:00Z",
    "updatedAt": "2024-05-16T09:30:00Z",
}

LIST_ANSWER = {
    "page": Example(
        summary="The first page",
        value=_ok(
            {
                "templates": [WELCOME_VIEW],
                "pagination": {"page": 1, "limit": 20, "total": 1, "pages": 1},
            }
        ),
    )
}
DETAIL_ANSWER = {"welcome": Example(summary="A template", value=_ok(WELCOME_VIEW))}
CREATED_ANSWER = {
    "created": Example(
        summary="Created",
        value=_ok(
            {
                "id": TEMPLATE_ID,
                "name": "Welcome back",
                "version": 1,
                "message": "Template created successfully",
            }
        ),
    )
}
UPDATED_ANSWER = {
    "updated": Example(
        summary="Its new version",
        value=_ok(
            {
                "id": TEMPLATE_ID,
                "name": "Welcome back",
                "version": 3,
                "message": "Template updated successfully",
            }
        ),
    )
}
DELETED_ANSWER = {
    "deleted": Example(summary="Deleted", value=_ok({"message": "Template deleted successfully"}))
}

_RENDERED = {
    "text": "<b>Hi Jane</b>, your last order was on 2024-06-01. Here is 30% off: "
    "<code>JANE30</code>",
    "parseMode": "html",
    "buttons": WELCOME["buttons"],
    "media": WELCOME["media"],
}
RENDER_ANSWER = {"rendered": Example(summary="As Jane would receive it", value=_ok(_RENDERED))}

PREVIEW_EXAMPLES = {
    "contact": Example(summary="For a contact", value={"contactId": CONTACT_ID}),
    "inline": Example(
        summary="For fields given inline; `id` places them in the A/B split",
        value={"contact": {"id": "preview-1", "firstName": "Jane"}},
    ),
}
PREVIEW_ANSWER = {
    "preview": Example(
        summary="Each message as this contact would receive it",
        value=_ok(
            {
                "campaignId": SUMMER_SALE_ID,
                "contactId": CONTACT_ID,
                "messages": [
                    {
                        "messageId": "msg1",
                        "variationId": "var1",
                        "text": "☀️ Hot Summer Deals, Jane! Save 30% today!",
                        "parseMode": "html",
                        "buttons": WELCOME["buttons"],
                    }
                ],
            }
        ),
    )
}

# Errors --------------------------------------------------------------------------------------

CONTENT_ERRORS: dict[str, ErrorDoc] = {
    **ERRORS,
    ErrorCode.VALIDATION_ERROR: ErrorDoc(
        400,
        "a parameter or the body is not valid, or the text cannot be sent (unknown "
        "placeholder, broken markup, too long); `details` names the field",
        "content: unknown placeholder {{fistName}}: did you mean {{firstName}}? the fields are "
        "firstName, lastName, username, languageCode, location, age, lastPurchase, "
        "attributes.<key> (line 1, column 4)",
        [
            {
                "field": "content",
                "message": "unknown placeholder {{fistName}}: did you mean {{firstName}}? …",
                "placeholder": "fistName",
                "line": 1,
                "column": 4,
            }
        ],
    ),
    ErrorCode.NOT_FOUND: ErrorDoc(
        404, "no such template, or it was deleted", f"template {TEMPLATE_ID} does not exist"
    ),
    ErrorCode.VERSION_CONFLICT: ErrorDoc(
        409,
        "a concurrent change won; read the template again and retry",
        "changed concurrently by another command; retry",
    ),
    ErrorCode.PRECONDITION_FAILED: ErrorDoc(
        412,
        "If-Match names a version that is no longer current",
        "template is at version 3, not 2",
        {"currentVersion": 3},
    ),
    ContactErrorCode.CONTACT_NOT_FOUND: ErrorDoc(
        404, "no such contact", f"contact {CONTACT_ID} does not exist"
    ),
    TEMPLATE_NOT_FOUND: ErrorDoc(
        409,
        "a message of the campaign names a template that does not exist or was deleted",
        f"messages[0].templateId: template {TEMPLATE_ID} was deleted",
        {"field": "messages[0].templateId", "templateId": TEMPLATE_ID, "reason": "deleted"},
    ),
}


def errors(*codes: str) -> dict[int, ResponseSpec]:
    """The error answers of a template or preview handler that can answer ``codes``."""
    return error_responses(CONTENT_ERRORS, *codes)


ETAG = ResponseHeader(
    name="ETag",
    value='"2"',
    documentation_only=True,
    description="The template's version after this answer, for `If-Match`",
)
