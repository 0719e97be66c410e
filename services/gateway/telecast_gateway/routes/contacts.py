"""``/api/v1/contacts``: list, get, create, update, delete, opt-out/opt-in and bulk import.

Every request goes to the campaign service, which owns the contacts table and answers from
it (contacts are not event-sourced, so there is no read model to wait for). Any operator
reads; admins and managers write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType as MediaTypeSpec
from litestar.openapi.spec import Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter

from telecast_gateway.bus import Bus
from telecast_gateway.contact_import import ContactImport, run_import
from telecast_gateway.contact_rows import MEDIA_TYPES, import_format, reader_for
from telecast_gateway.envelope import Envelope, ErrorEnvelope, ok
from telecast_gateway.routes.writes import (
    command_meta,
)
from telecast_gateway.schemas import Deleted
from telecast_gateway.security import can_write_campaigns
from telecast_libs.contracts.contacts import (
    ChatType,
    Contact,
    ContactChanges,
    ContactDeleted,
    ContactInput,
    ContactPage,
    CreateContact,
    DeleteContact,
    GetContact,
    ImportReport,
    ListContacts,
    SetContactOptOut,
    UpdateContact,
    field_with_nul,
)
from telecast_libs.contracts.errors import ErrorCode, Problem

# An import streams: the gateway's 1 MiB body limit would cap it at a few thousand rows.
# 2 GiB is about ten million typical rows; memory stays bounded by the batch size.
IMPORT_MAX_BODY_BYTES = 2 * 1024**3


def _errors(*statuses: int) -> dict[int, ResponseSpec]:
    descriptions = {
        400: "The request is not valid (the error names the field)",
        401: "No valid Bearer token",
        403: "The operator's role does not allow this",
        404: "No such contact (CONTACT_NOT_FOUND)",
        409: "A contact with this telegramId exists already (CONTACT_EXISTS), or the "
        "Idempotency-Key was used before with another request (IDEMPOTENCY_KEY_REUSED) or "
        "its request is still running (IDEMPOTENCY_KEY_IN_USE)",
        413: "The body is over the import limit (2 GiB)",
        415: "The Content-Type is not text/csv or application/x-ndjson",
        503: "A service behind the gateway is unavailable",
    }
    return {s: ResponseSpec(ErrorEnvelope, description=descriptions[s]) for s in statuses}


ContactIdParam = Annotated[str, Parameter(description="The contact's id", max_length=100)]


def _refuse_nul(contact: ContactInput | ContactChanges) -> None:
    field = field_with_nul(contact)
    if field is not None:
        raise Problem(
            f"{field}: contains a NUL character",
            details=[{"field": field, "source": "body", "message": "contains a NUL character"}],
            code=ErrorCode.VALIDATION_ERROR,
        )


_CSV_EXAMPLE = (
    "telegramId,chatType,username,firstName,lastName,location,age,interests,attributes.plan\n"
    "123456789,private,jane_doe,Jane,Doe,US,34,shopping;fashion,gold\n"
    '-1001234567890,supergroup,,"Deals, daily",,DE,,,\n'
)
_NDJSON_EXAMPLE = (
    '{"telegramId": 123456789, "firstName": "Jane", "location": "US", "interests": ["shopping"]}\n'
    '{"telegramId": 987654321, "chatType": "channel", "username": "deals_daily"}\n'
)


# A body that is more than blank lines, as each reader sees a blank line: JSON lines strip
# ASCII whitespace (and a byte order mark opening the body), CSV any whitespace.
_ASCII_SPACE = r"\t\n\v\f\r "
NDJSON_NOT_EMPTY = (
    rf"^(?:\ufeff[{_ASCII_SPACE}]*[^{_ASCII_SPACE}]"
    rf"|[{_ASCII_SPACE}]*[^{_ASCII_SPACE}\ufeff]|[{_ASCII_SPACE}]+\ufeff)"
)
CSV_NOT_EMPTY = r"[^\s\x1c-\x1f\x85]"


@dataclass
class _ImportOperation(Operation):
    """The import's body is streamed, not a parameter: its OpenAPI request body is declared
    here."""

    def __post_init__(self) -> None:
        csv = Schema(
            type=OpenAPIType.STRING,
            pattern=CSV_NOT_EMPTY,
            description="A header row, then a row per contact. The header names the columns: "
            "the contact's fields (telegramId, required, then any of chatType, username, "
            "firstName, lastName, languageCode, location, age, interests, purchaseHistory, "
            "lastPurchase, attributes, isTestRecipient, optedOut, blocked; compared without "
            "case, spaces, '_' and '-'), attributes.<key> columns, or none (an unnamed column "
            "is ignored), each at most once; a header naming another column is refused (400), "
            "nothing imported. Cells are separated by ',' (or ';' or a tab, when the header "
            "holds no ','); an empty cell is an absent value.",
        )
        # Its example is in the description: a tool that cannot send this media type (as
        # schemathesis cannot) would otherwise fail on the example instead of leaving it out.
        json_lines = Schema(
            type=OpenAPIType.STRING,
            pattern=NDJSON_NOT_EMPTY,
            description="One JSON object per line, each the body of createContact "
            "(ContactInput); blank lines are skipped. A line that is not a valid contact is "
            "reported in the answer's errors by its number, never refusing the others. For "
            f"example:\n\n```\n{_NDJSON_EXAMPLE}```",
        )
        self.request_body = RequestBody(
            required=True,
            description="CSV with a header row, or one JSON object per line (the fields of a "
            "contact); not only blank lines (an empty import is refused, 400). Either may be "
            "as large as 2 GiB; it is read as it arrives.",
            content={
                "text/csv": MediaTypeSpec(schema=csv, example=_CSV_EXAMPLE),
                "application/x-ndjson": MediaTypeSpec(schema=json_lines),
            },
        )


class ContactController(Controller):
    path = "/api/v1/contacts"
    tags = ["contacts"]

    @get(
        "/",
        operation_id="listContacts",
        summary="List contacts",
        description="A page of contacts, newest first. `search` matches words by prefix in "
        "username, first and last name (and a number matches the Telegram id); the filters "
        "combine with AND.",
        responses=_errors(400, 401, 503),
    )
    async def list_contacts(
        self,
        bus: Bus,
        page: Annotated[int, Parameter(ge=1, le=1_000_000, description="Page number")] = 1,
        limit: Annotated[int, Parameter(ge=1, le=100, description="Items per page")] = 20,
        search: Annotated[
            str | None,
            Parameter(min_length=1, max_length=200, description="Words to find in names"),
        ] = None,
        chat_type: Annotated[
            ChatType | None, Parameter(query="chatType", description="Only this chat type")
        ] = None,
        location: Annotated[
            str | None,
            Parameter(pattern=r"^[A-Z]{2}$", description="Only this country (ISO 3166-1 alpha-2)"),
        ] = None,
        opted_out: Annotated[
            bool | None, Parameter(query="optedOut", description="Only (not) opted out")
        ] = None,
        blocked: Annotated[bool | None, Parameter(description="Only (not) blocked")] = None,
        is_test_recipient: Annotated[
            bool | None,
            Parameter(query="isTestRecipient", description="Only (not) test recipients"),
        ] = None,
        interest: Annotated[
            str | None,
            Parameter(min_length=1, max_length=64, description="Only contacts with this interest"),
        ] = None,
    ) -> Envelope[ContactPage]:
        query = ListContacts(
            page=page,
            limit=limit,
            search=search,
            chat_type=chat_type,
            location=location,
            opted_out=opted_out,
            blocked=blocked,
            is_test_recipient=is_test_recipient,
            interest=interest,
        )
        return ok(await bus.audience(query, ContactPage, write=False))

    @get(
        "/{contact_id:str}",
        operation_id="getContact",
        summary="Get a contact",
        responses=_errors(400, 401, 404, 503),
    )
    async def get_contact(self, bus: Bus, contact_id: ContactIdParam) -> Envelope[Contact]:
        return ok(await bus.audience(GetContact(contact_id=contact_id), Contact, write=False))

    @post(
        "/",
        operation_id="createContact",
        summary="Create a contact",
        description="Absent fields take their defaults (`chatType` private, no interests, "
        "flags false). A second contact with the same `telegramId` is refused (409).",
        guards=[can_write_campaigns],
        status_code=201,
        responses=_errors(400, 401, 403, 409, 503),
    )
    async def create_contact(
        self, request: Request, data: ContactInput, bus: Bus
    ) -> Envelope[Contact]:
        _refuse_nul(data)
        command = CreateContact(meta=command_meta(request), contact=data)
        return ok(await bus.audience(command, Contact, write=True))

    @put(
        "/{contact_id:str}",
        operation_id="updateContact",
        summary="Update a contact",
        description="Changes the fields present in the body; `null` clears an optional field "
        "(username, names, languageCode, location, age, lastPurchase). `attributes` are merged "
        "key by key, and a key set to `null` is removed.",
        guards=[can_write_campaigns],
        responses=_errors(400, 401, 403, 404, 409, 503),
    )
    async def update_contact(
        self, request: Request, contact_id: ContactIdParam, data: ContactChanges, bus: Bus
    ) -> Envelope[Contact]:
        _refuse_nul(data)
        command = UpdateContact(meta=command_meta(request), contact_id=contact_id, changes=data)
        return ok(await bus.audience(command, Contact, write=True))

    @delete(
        "/{contact_id:str}",
        operation_id="deleteContact",
        summary="Delete a contact",
        description="Removes the contact for good (contacts are not event-sourced).",
        guards=[can_write_campaigns],
        status_code=200,
        responses=_errors(400, 401, 403, 404, 503),
    )
    async def delete_contact(
        self, request: Request, contact_id: ContactIdParam, bus: Bus
    ) -> Envelope[Deleted]:
        command = DeleteContact(meta=command_meta(request), contact_id=contact_id)
        await bus.audience(command, ContactDeleted, write=True)
        return ok(Deleted(message="Contact deleted successfully"))

    @post(
        "/{contact_id:str}/opt-out",
        operation_id="optOutContact",
        summary="Opt a contact out",
        description="The contact receives no campaign message from now on; an import never "
        "clears this.",
        guards=[can_write_campaigns],
        status_code=200,
        responses=_errors(400, 401, 403, 404, 409, 503),
    )
    async def opt_out(
        self, request: Request, contact_id: ContactIdParam, bus: Bus
    ) -> Envelope[Contact]:
        command = SetContactOptOut(
            meta=command_meta(request), contact_id=contact_id, opted_out=True
        )
        return ok(await bus.audience(command, Contact, write=True))

    @post(
        "/{contact_id:str}/opt-in",
        operation_id="optInContact",
        summary="Opt a contact back in",
        description="Undoes an opt-out, for a contact who consented again.",
        guards=[can_write_campaigns],
        status_code=200,
        responses=_errors(400, 401, 403, 404, 409, 503),
    )
    async def opt_in(
        self, request: Request, contact_id: ContactIdParam, bus: Bus
    ) -> Envelope[Contact]:
        command = SetContactOptOut(
            meta=command_meta(request), contact_id=contact_id, opted_out=False
        )
        return ok(await bus.audience(command, Contact, write=True))

    @post(
        "/import",
        operation_id="importContacts",
        summary="Import contacts",
        description="Creates or updates contacts by `telegramId` from a CSV file (with a header "
        "row) or JSON lines, streamed. A row that is not valid is reported by its line number "
        "and skipped; the others are imported. Within a file a later row of the same "
        "`telegramId` applies on top of an earlier one. An absent or empty value keeps the "
        "stored one; `optedOut` and `blocked` can be set, never cleared. Rows land in batches "
        "as the body arrives. Send no `Idempotency-Key`: an import can simply be repeated.",
        guards=[can_write_campaigns],
        status_code=200,
        request_max_body_size=IMPORT_MAX_BODY_BYTES,
        operation_class=_ImportOperation,
        responses=_errors(400, 401, 403, 413, 415, 503),
    )
    async def import_contacts(self, request: Request, bus: Bus) -> Envelope[ImportReport]:
        fmt = import_format(request.headers.get("content-type"))
        if fmt is None:
            raise HTTPException(
                status_code=415,
                detail="send the contacts as text/csv (with a header row) or "
                f"application/x-ndjson; accepted: {', '.join(MEDIA_TYPES)}",
            )
        contacts = ContactImport(bus, command_meta(request), max_payload=bus.nc.max_payload)
        return ok(await run_import(request.stream(), reader_for(fmt), contacts))
