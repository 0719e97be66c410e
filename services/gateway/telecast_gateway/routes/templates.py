"""``/api/v1/templates``: list, get, create, update, delete, and render for a contact.

Writes become commands to the campaign service (templates are event-sourced like campaigns)
and answer once the read model shows them; reads are answered by the projection. Rendering
is pure (``telecast_libs.content``), so it runs here, with the contact's fields from the
campaign service when the request names a contact. Any operator reads and renders; admins and
managers write.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from telecast_gateway.bus import Bus
from telecast_gateway.envelope import Envelope, ok
from telecast_gateway.idempotency import creation_id
from telecast_gateway.routes import content_openapi as doc
from telecast_gateway.routes.content_openapi import ETAG, errors
from telecast_gateway.routes.writes import (
    IdempotencyKey,
    IfMatch,
    command_meta,
    expected_version,
)
from telecast_gateway.schemas import Deleted
from telecast_gateway.security import can_write_campaigns
from telecast_libs.content.rendering import INVITE_LINK, INVITE_LINK_PREVIEW, parse, render
from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.contacts import Contact, ContactErrorCode, GetContact
from telecast_libs.contracts.errors import ErrorCode
from telecast_libs.contracts.messages import CommandResult
from telecast_libs.contracts.templates import (
    CreateTemplate,
    DeleteTemplate,
    GetTemplate,
    ListTemplates,
    RenderedMessage,
    RenderRequest,
    TemplateAccepted,
    TemplateChanges,
    TemplateContent,
    TemplatePage,
    TemplateView,
    UpdateTemplate,
)

_READ = (ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.SERVICE_UNAVAILABLE)
_ONE = (*_READ, ErrorCode.NOT_FOUND)
_WRITE = (*_READ, ErrorCode.FORBIDDEN, "PAYLOAD_TOO_LARGE")
# Any authenticated POST may carry an Idempotency-Key.
_KEYED = ("IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_USE")
_CHANGE = (
    *_WRITE,
    ErrorCode.NOT_FOUND,
    ErrorCode.VERSION_CONFLICT,
    ErrorCode.PRECONDITION_FAILED,
)

TemplateId = Annotated[str, Parameter(description="The template's id", max_length=100)]


async def recipient_of(bus: Bus, target: RenderRequest) -> tuple[dict[str, Any], str | None]:
    """The fields to render with (as on the wire: ``firstName``…) and the contact's id."""
    if target.contact is not None:
        return to_builtins(target.contact), target.contact.id
    assert target.contact_id is not None
    contact = await bus.audience(GetContact(contact_id=target.contact_id), Contact, write=False)
    return to_builtins(contact), contact.id


def _accepted(result: CommandResult, message: str, status: int) -> Response:
    body = TemplateAccepted(
        id=result.aggregate_id, name=result.name or "", version=result.version, message=message
    )
    return Response(ok(body), status_code=status, headers={"ETag": f'"{result.version}"'})


class TemplateController(Controller):
    path = "/api/v1/templates"
    tags = ["templates"]

    @get(
        "/",
        operation_id="listTemplates",
        summary="List templates",
        description="A page of templates, newest first. `search` matches words by prefix in "
        "the name and the content (every word must match).",
        response_description="A page of templates and the pagination",
        responses=errors(*_READ),
        operation_class=doc.documented(answer=doc.LIST_ANSWER),
    )
    async def list_templates(
        self,
        bus: Bus,
        page: Annotated[int, Parameter(ge=1, le=1_000_000, description="Page number")] = 1,
        limit: Annotated[int, Parameter(ge=1, le=100, description="Items per page")] = 20,
        search: Annotated[
            str | None,
            Parameter(min_length=1, max_length=200, description="Search in name and content"),
        ] = None,
    ) -> Envelope[TemplatePage]:
        query = ListTemplates(page=page, limit=limit, search=search)
        return ok(await bus.query(query, TemplatePage))

    @get(
        "/{template_id:str}",
        operation_id="getTemplate",
        summary="Get a template",
        description="The template, with the fields its placeholders use; its version is the "
        "`ETag` header.",
        response_description="The template",
        response_headers=[ETAG],
        responses=errors(*_ONE),
        operation_class=doc.documented(answer=doc.DETAIL_ANSWER),
    )
    async def get_template(
        self, bus: Bus, template_id: TemplateId
    ) -> Response[Envelope[TemplateView]]:
        view = await bus.query(GetTemplate(template_id=template_id), TemplateView)
        return Response(ok(view), headers={"ETag": f'"{view.version}"'})

    @post(
        "/",
        operation_id="createTemplate",
        summary="Create a template",
        description="Checked before it is stored: every placeholder must name a known field, "
        "the markup must be what Telegram accepts in the parse mode, and the text must fit "
        "Telegram's limit (4,096 characters, or 1,024 as the caption of media) with every "
        "placeholder at its longest. Admin or manager.",
        guards=[can_write_campaigns],
        status_code=201,
        response_description="The new template's id and version",
        response_headers=[ETAG],
        responses=errors(*_WRITE, *_KEYED),
        operation_class=doc.documented(answer=doc.CREATED_ANSWER, body=doc.CREATE_EXAMPLES),
    )
    async def create_template(
        self,
        request: Request,
        data: TemplateContent,
        bus: Bus,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Envelope[TemplateAccepted]]:
        command = CreateTemplate(
            meta=command_meta(request),
            content=data,
            template_id=creation_id(request.user.id, idempotency_key, request.url.path),
        )
        result = await bus.command(command)
        return _accepted(result, "Template created successfully", 201)

    @put(
        "/{template_id:str}",
        operation_id="updateTemplate",
        summary="Update a template",
        description="Changes the fields present in the body (`media: null` removes the "
        "media); the result is checked as a whole, as at creation. Executions already started "
        "keep the content they recorded. Admin or manager.",
        guards=[can_write_campaigns],
        response_description="The template's new version",
        response_headers=[ETAG],
        responses=errors(*_CHANGE),
        operation_class=doc.documented(answer=doc.UPDATED_ANSWER, body=doc.UPDATE_EXAMPLES),
    )
    async def update_template(
        self,
        request: Request,
        template_id: TemplateId,
        data: TemplateChanges,
        bus: Bus,
        if_match: IfMatch = None,
    ) -> Response[Envelope[TemplateAccepted]]:
        command = UpdateTemplate(
            meta=command_meta(request),
            template_id=template_id,
            changes=data,
            expected_version=expected_version(if_match),
        )
        result = await bus.command(command)
        return _accepted(result, "Template updated successfully", 200)

    @delete(
        "/{template_id:str}",
        operation_id="deleteTemplate",
        summary="Delete a template",
        description="Allowed even when campaigns name it: a campaign that names a deleted "
        "template cannot be executed (409 TEMPLATE_NOT_FOUND), and executions already started "
        "keep the content they recorded. The deletion is an event. Admin or manager.",
        guards=[can_write_campaigns],
        status_code=200,
        response_description="Deleted",
        responses=errors(*_CHANGE),
        operation_class=doc.documented(answer=doc.DELETED_ANSWER),
    )
    async def delete_template(
        self,
        request: Request,
        template_id: TemplateId,
        bus: Bus,
        if_match: IfMatch = None,
    ) -> Envelope[Deleted]:
        command = DeleteTemplate(
            meta=command_meta(request),
            template_id=template_id,
            expected_version=expected_version(if_match),
        )
        await bus.command(command)
        return ok(Deleted(message="Template deleted successfully"))

    @post(
        "/{template_id:str}/render",
        operation_id="renderTemplate",
        summary="Render a template for a contact",
        description="The message as the contact would receive it: placeholders filled in "
        "(missing values give the fallback), values escaped for the parse mode; "
        "`{{inviteLink}}` shows `https://t.me/+INVITE_LINK` (each recipient's link is made "
        "when the message is sent). Give a `contactId`, or the fields inline as `contact`. "
        "Changes nothing.",
        status_code=200,
        response_description="The rendered message",
        responses=errors(*_ONE, "PAYLOAD_TOO_LARGE", ContactErrorCode.CONTACT_NOT_FOUND, *_KEYED),
        operation_class=doc.documented(answer=doc.RENDER_ANSWER, body=doc.RENDER_EXAMPLES),
    )
    async def render_template(
        self, template_id: TemplateId, data: RenderRequest, bus: Bus
    ) -> Envelope[RenderedMessage]:
        template = await bus.query(GetTemplate(template_id=template_id), TemplateView)
        recipient, _ = await recipient_of(bus, data)
        # Links are made as messages are sent; a template that shows one is for invitations.
        recipient = {**recipient, INVITE_LINK: INVITE_LINK_PREVIEW}
        text = render(parse(template.content), template.parse_mode.value, recipient)
        rendered = RenderedMessage(
            text=text,
            parse_mode=template.parse_mode,
            buttons=template.buttons,
            media=template.media,
        )
        return ok(rendered)
