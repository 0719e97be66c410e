"""JSON Merge Patch (RFC 7396): how a campaign's PUT body changes its stored content."""

from __future__ import annotations

from typing import Any

import msgspec

from telecast_campaign.domain.errors import ValidationFailed
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.campaigns import CampaignContent


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied: a key absent from the patch keeps its value, a
    ``None`` (JSON null) removes it, an object merges key by key, anything else (a list
    too) replaces the value. Neither argument is changed."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def patched(content: dict[str, Any], patch: dict[str, Any]) -> CampaignContent:
    """The stored ``content`` with ``patch`` applied, read as a whole campaign. A patch can
    be valid on its own and not on top of what is stored (an invitation given an
    ``expireHours`` while the campaign has none, so no ``chatId``): ``ValidationFailed``
    naming the field."""
    try:
        return decode(encode(merge_patch(content, patch)), CampaignContent)
    except msgspec.ValidationError as error:
        raise ValidationFailed(
            f"the campaign after this change is not valid: {error}",
            details=[{"field": _field_of(error), "message": str(error)}],
        ) from None


def _field_of(error: msgspec.ValidationError) -> str:
    """``invitation.chatId`` from msgspec's "… - at `$.invitation`" (and the missing field's
    name when it says "missing required field `chatId`")."""
    text = str(error)
    path = text.rpartition(" - at `$")[2].rstrip("`").lstrip(".") if " - at `$" in text else ""
    missing = text.partition("missing required field `")[2].partition("`")[0]
    return ".".join(part for part in (path, missing) if part) or "body"


# What every campaign has, for judging a patch on its own (``own_problem``).
_BARE = {"name": "-", "type": "message"}


def own_problem(patch: dict[str, Any], check: Any) -> ValidationFailed | None:
    """The rule ``patch`` breaks by itself, whatever the campaign stores: ``check`` (the
    content rules) on the patch applied to a bare campaign. None when the patch alone breaks
    none (a patch that needs what a campaign may store, such as an invitation's ``chatId``,
    is not at fault for its absence)."""
    try:
        alone = patched(_BARE, patch)
    except ValidationFailed:
        return None
    try:
        check(alone)
    except ValidationFailed as problem:
        return problem
    return None
