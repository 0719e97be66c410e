"""Message templates and rendered messages, as the API and the events describe them.

A template is a message's content with placeholders (``{{firstName|there}}``), a Telegram
parse mode, inline URL buttons and optional media. The same structs validate HTTP bodies in
the gateway and describe what template events carry. The rules no field can state alone
(placeholders, markup, rendered length) are checked by ``telecast_libs.content.rendering``
when a template is saved.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from telecast_libs.contracts.base import SPACE, Wire
from telecast_libs.contracts.campaigns import Identifier, Name, Timestamp
from telecast_libs.contracts.messages import CommandMeta, Request
from telecast_libs.contracts.views import Pagination

# A campaign message names a template that does not exist (or was deleted): 409 at execute.
TEMPLATE_NOT_FOUND = "TEMPLATE_NOT_FOUND"

# The source may be longer than Telegram's 4,096 characters: markup and placeholders are
# not what Telegram counts. The rendered length is checked on its own.
TemplateText = Annotated[str, msgspec.Meta(min_length=1, max_length=16_384)]
HttpUrl = Annotated[
    str, msgspec.Meta(max_length=2048, pattern=rf"^[Hh][Tt][Tt][Pp][Ss]?://[^{SPACE}\x00]+$")
]
# Telegram's file_id of a file it already holds (base64url characters).
FileId = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")]
ButtonText = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
PersonalText = Annotated[str, msgspec.Meta(max_length=256)]


class ParseMode(enum.StrEnum):
    """Telegram's parse modes: HTML, or MarkdownV2 (named ``markdown``)."""

    HTML = "html"
    MARKDOWN = "markdown"


class Button(Wire):
    """An inline button that opens a URL."""

    text: ButtonText
    url: HttpUrl


# Rows of buttons, as Telegram lays them out: up to 10 rows of up to 8.
ButtonRow = Annotated[list[Button], msgspec.Meta(min_length=1, max_length=8)]
Buttons = Annotated[list[ButtonRow], msgspec.Meta(max_length=10)]


class MediaType(enum.StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    DOCUMENT = "document"


class Media(Wire, kw_only=True):
    """A photo, video or document sent with the text as its caption: from a URL, or a file
    Telegram already holds (``fileId``)."""

    type: MediaType
    url: HttpUrl | None = None
    file_id: FileId | None = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.file_id is None):
            raise ValueError("media needs exactly one of url or fileId")


class TemplateContent(Wire, kw_only=True):
    """Everything an operator writes about a template (the body of create)."""

    name: Name
    content: TemplateText
    parse_mode: ParseMode = ParseMode.HTML
    buttons: Buttons = []
    media: Media | None = None


class TemplateChanges(Wire, kw_only=True):
    """A partial update (the body of PUT): only the fields present change; ``media: null``
    removes the media."""

    name: Name | None = None
    content: TemplateText | None = None
    parse_mode: ParseMode | None = None
    buttons: Buttons | None = None
    media: Media | UnsetType | None = UNSET


# Commands to the campaign service, queries to the projection --------------------------------


class CreateTemplate(Request, tag="template.create"):
    meta: CommandMeta
    content: TemplateContent
    # Chosen by the caller to make a retried create idempotent (from the Idempotency-Key).
    template_id: str | None = None


class UpdateTemplate(Request, tag="template.update"):
    meta: CommandMeta
    template_id: str
    changes: TemplateChanges
    expected_version: int | None = None


class DeleteTemplate(Request, tag="template.delete"):
    meta: CommandMeta
    template_id: str
    expected_version: int | None = None


class ListTemplates(Request, tag="template.list"):
    page: int = 1
    limit: int = 20
    search: str | None = None


class GetTemplate(Request, tag="template.get"):
    template_id: str


TemplateCommand = CreateTemplate | UpdateTemplate | DeleteTemplate
TemplateQuery = ListTemplates | GetTemplate


# Personalization ---------------------------------------------------------------------------


class Recipient(Wire, kw_only=True):
    """The fields of a contact a message can use, given inline (to render or preview for
    someone who is not a contact yet). ``id`` stands for the contact's id when choosing a
    variation."""

    id: Identifier | None = None
    first_name: PersonalText | None = None
    last_name: PersonalText | None = None
    username: PersonalText | None = None
    language_code: PersonalText | None = None
    location: PersonalText | None = None
    age: Annotated[int, msgspec.Meta(ge=0, le=150)] | None = None
    last_purchase: Timestamp | None = None
    attributes: dict[str, Any] = {}


class RenderRequest(Wire, kw_only=True):
    """For whom to render (a template) or preview (a campaign's messages): a contact by its
    id, or the fields inline."""

    contact_id: Identifier | None = None
    contact: Recipient | None = None

    def __post_init__(self) -> None:
        if (self.contact_id is None) == (self.contact is None):
            raise ValueError("give exactly one of contactId or contact")


class RenderedMessage(Wire, kw_only=True):
    """A message as it would be sent: text, parse mode (absent for plain text), buttons and
    media."""

    text: str
    parse_mode: ParseMode | None = None
    buttons: list[list[Button]] = []
    media: Media | None = None


class PreviewedMessage(RenderedMessage, kw_only=True):
    """One campaign message for one contact, and which variation that contact gets
    (``variationId`` absent: the message's own content)."""

    message_id: str
    variation_id: str | None = None


class CampaignPreview(Wire, kw_only=True):
    campaign_id: str
    contact_id: str | None = None
    messages: list[PreviewedMessage]


# Read model --------------------------------------------------------------------------------


class TemplateView(Wire, kw_only=True):
    """A template as the API shows it; ``placeholders`` lists the fields it uses."""

    id: str
    name: str
    content: str
    parse_mode: ParseMode
    buttons: list[list[Button]] = []
    media: Media | None = None
    placeholders: list[str] = []
    version: int
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


class TemplatePage(Wire):
    templates: list[TemplateView]
    pagination: Pagination


class TemplateAccepted(Wire):
    """The answer to create and update."""

    id: str
    name: str
    version: int
    message: str
