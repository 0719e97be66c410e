"""Contacts: the Telegram recipients campaigns are sent to, and the requests about them.

A contact is a private user, a group, a supergroup or a channel, known by its Telegram id.
The same structs validate HTTP bodies and imported rows in the gateway and travel to the
campaign service, which owns the contacts table and answers these requests from it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import msgspec

from telecast_libs.contracts.base import Wire
from telecast_libs.contracts.messages import CommandMeta, Request
from telecast_libs.contracts.views import Pagination


class ContactErrorCode:
    CONTACT_EXISTS = "CONTACT_EXISTS"
    CONTACT_NOT_FOUND = "CONTACT_NOT_FOUND"


TelegramId = Annotated[
    int,
    msgspec.Meta(
        ge=-(2**63),
        le=2**63 - 1,
        description="Telegram's id of the user, group or channel (64-bit; negative for groups "
        "and channels)",
    ),
]
Username = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9_]{1,32}$",
        description="Telegram username without the @",
        examples=["jane_doe"],
    ),
]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
LanguageCode = Annotated[
    str,
    msgspec.Meta(
        max_length=35,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
        description="IETF language tag, as Telegram reports it (en, pt-br)",
    ),
]
CountryCode = Annotated[
    str,
    msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, uppercase (US, DE)"),
]
Age = Annotated[int, msgspec.Meta(ge=0, le=150)]
Interest = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Interests = Annotated[list[Interest], msgspec.Meta(max_length=100)]
AttributeKey = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
AttributeValue = Annotated[str, msgspec.Meta(max_length=1000)] | int | float | bool | None
Attributes = Annotated[
    dict[AttributeKey, AttributeValue],
    msgspec.Meta(
        max_length=50,
        description="Free-form scalar values by key; merged into the stored ones key by key, "
        "and a null value removes its key",
    ),
]
# RFC 3339 with an offset; a time without one is ambiguous and refused.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
ContactId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class ChatType(enum.StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


def field_with_nul(contact: ContactInput | ContactChanges) -> str | None:
    """The first text field holding a NUL character, which PostgreSQL text cannot store.

    Not a constraint of the structs: a regex per text field would cost more than the rest of
    their validation on the import's hot path. The gateway checks it where a NUL can arrive
    (a ``\\u0000`` in JSON, a NUL byte in CSV); the fields with a pattern cannot hold one.
    """
    for name, value in (("firstName", contact.first_name), ("lastName", contact.last_name)):
        if isinstance(value, str) and "\x00" in value:
            return name
    if isinstance(contact.interests, list) and any("\x00" in tag for tag in contact.interests):
        return "interests"
    if isinstance(contact.attributes, dict) and any(
        isinstance(value, str) and "\x00" in value for value in contact.attributes.values()
    ):
        return "attributes"
    return None


class ContactInput(Wire, kw_only=True):
    """A contact to create, or one imported row (an upsert by ``telegramId``).

    An absent (or null) field is "not given": a new contact gets the default (``chatType``
    private, no interests, flags false), an existing one keeps its value. ``optedOut`` and
    ``blocked`` can be set but never cleared this way, so a re-import cannot re-subscribe
    anyone.
    """

    telegram_id: TelegramId
    chat_type: ChatType | None = None
    username: Username | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    language_code: LanguageCode | None = None
    location: CountryCode | None = None
    age: Age | None = None
    interests: Interests | None = None
    purchase_history: bool | None = None
    last_purchase: Timestamp | None = None
    attributes: Attributes | None = None
    is_test_recipient: bool | None = None
    opted_out: bool | None = None
    blocked: bool | None = None


_Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class ContactChanges(Wire, kw_only=True):
    """A partial update (the body of PUT): an absent field is kept; null clears a field that
    may be empty (username, names, language, location, age, lastPurchase)."""

    telegram_id: TelegramId | _Unset = UNSET
    chat_type: ChatType | _Unset = UNSET
    username: Username | _Unset | None = UNSET
    first_name: PersonName | _Unset | None = UNSET
    last_name: PersonName | _Unset | None = UNSET
    language_code: LanguageCode | _Unset | None = UNSET
    location: CountryCode | _Unset | None = UNSET
    age: Age | _Unset | None = UNSET
    interests: Interests | _Unset = UNSET
    purchase_history: bool | _Unset = UNSET
    last_purchase: Timestamp | _Unset | None = UNSET
    attributes: Attributes | _Unset = UNSET
    is_test_recipient: bool | _Unset = UNSET
    opted_out: bool | _Unset = UNSET
    blocked: bool | _Unset = UNSET


class Contact(Wire, kw_only=True):
    """A contact as the API answers it: every field present, null when unknown."""

    id: str
    telegram_id: int
    chat_type: ChatType
    username: str | None
    first_name: str | None
    last_name: str | None
    language_code: str | None
    location: str | None
    age: int | None
    interests: list[str]
    purchase_history: bool
    last_purchase: datetime | None
    attributes: dict[str, Any]
    is_test_recipient: bool
    opted_out: bool
    blocked: bool
    created_at: datetime
    updated_at: datetime


class ContactPage(Wire):
    contacts: list[Contact]
    pagination: Pagination


class ContactDeleted(Wire):
    id: str


class RowError(Wire):
    """Why one imported row was refused: its line in the file (the CSV header is line 1)."""

    row: int
    reason: str
    field: str | None = None


class ImportReport(Wire, kw_only=True):
    """The answer to an import: every row read is created, updated or rejected."""

    created: int
    updated: int
    rejected: int
    # The first rejected rows (at most ``MAX_REPORTED_ERRORS``), in file order.
    errors: list[RowError]
    errors_truncated: bool


MAX_REPORTED_ERRORS = 1000


class BatchUpserted(Wire):
    """The campaign service's answer to one import batch."""

    created: int
    updated: int


# Requests to the campaign service (its audience endpoint) ---------------------------------


class CreateContact(Request, tag="contact.create"):
    meta: CommandMeta
    contact: ContactInput


class GetContact(Request, tag="contact.get"):
    contact_id: str


class UpdateContact(Request, tag="contact.update"):
    meta: CommandMeta
    contact_id: str
    changes: ContactChanges


class DeleteContact(Request, tag="contact.delete"):
    meta: CommandMeta
    contact_id: str


class ListContacts(Request, tag="contact.list", kw_only=True):
    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    # Words matched by prefix in username, first and last name; a number also matches the
    # Telegram id.
    search: str | None = None
    chat_type: ChatType | None = None
    location: str | None = None
    opted_out: bool | None = None
    blocked: bool | None = None
    is_test_recipient: bool | None = None
    interest: str | None = None


class SetContactOptOut(Request, tag="contact.opt_out"):
    """Opt a contact out of campaigns (or, with ``opted_out`` false, back in)."""

    meta: CommandMeta
    contact_id: str
    opted_out: bool = True


class ImportContactsBatch(Request, tag="contact.import_batch"):
    """Rows of an import, upserted by ``telegramId`` in one transaction; answers
    ``BatchUpserted``. Later rows of the same Telegram id win over earlier ones."""

    meta: CommandMeta
    rows: list[ContactInput]


class MarkContactBlocked(Request, tag="contact.mark_blocked"):
    """From the dispatcher: Telegram said the recipient blocked the bot (or unblocked it)."""

    meta: CommandMeta
    telegram_id: int
    blocked: bool = True
