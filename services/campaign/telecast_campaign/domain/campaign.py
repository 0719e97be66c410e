"""The Campaign aggregate: its events, its state, and which change is allowed when."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from telecast_campaign.domain.errors import EditNotAllowed, StaleVersion, ValidationFailed
from telecast_campaign.domain.rules import check_content, stored_form
from telecast_libs.contracts.base import decode, encode, to_builtins
from telecast_libs.contracts.campaigns import CampaignChanges, CampaignContent, CampaignStatus

# Content that shapes who receives what: frozen once sending has begun.
_AUDIENCE_AND_MESSAGES = frozenset({"targetAudience", "messages", "type"})
_FINAL = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED})
_DELETABLE = frozenset({CampaignStatus.DRAFT, CampaignStatus.CANCELLED})


class Campaign(Aggregate):
    """A marketing campaign. Its methods are the commands; each records one event.

    ``meta`` (actor, correlation and causation ids) travels inside every event so that the
    stored stream says who did what, and why, without a side table.
    """

    @classmethod
    def create(cls, content: CampaignContent, created_by: str, meta: dict[str, Any]) -> Campaign:
        check_content(content)
        return cls(content=stored_form(content), created_by=created_by, meta=meta)

    @event("Created")
    def __init__(self, content: dict[str, Any], created_by: str, meta: dict[str, Any]) -> None:
        self.content = content
        self.created_by = created_by
        self.status = CampaignStatus.DRAFT.value
        self.deleted = False

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise StaleVersion(
                f"campaign is at version {self.version}, not {expected}",
                details={"currentVersion": self.version},
            )

    def update(self, changes: CampaignChanges, meta: dict[str, Any]) -> None:
        changed = to_builtins(changes)
        if not changed:
            raise ValidationFailed("nothing to change: the body names no field")
        if self.status in _FINAL:
            raise EditNotAllowed(
                f"a {self.status} campaign cannot be edited",
                details={"status": self.status},
            )
        if self.status != CampaignStatus.DRAFT and _AUDIENCE_AND_MESSAGES & changed.keys():
            fields = sorted(_AUDIENCE_AND_MESSAGES & changed.keys())
            raise EditNotAllowed(
                f"{', '.join(fields)} can only change while the campaign is a draft",
                details={"status": self.status, "fields": fields},
            )
        merged = decode(encode({**self.content, **changed}), CampaignContent)
        check_content(merged)
        new_content = stored_form(merged)
        self._updated(changes={k: new_content.get(k) for k in changed}, meta=meta)

    @event("Updated")
    def _updated(self, changes: dict[str, Any], meta: dict[str, Any]) -> None:
        self.content = {**self.content, **changes}

    def delete(self, meta: dict[str, Any]) -> None:
        if self.status not in _DELETABLE:
            raise EditNotAllowed(
                f"only draft or cancelled campaigns can be deleted; this one is {self.status}",
                details={"status": self.status},
            )
        self._deleted(meta=meta)

    @event("Deleted")
    def _deleted(self, meta: dict[str, Any]) -> None:
        self.deleted = True
