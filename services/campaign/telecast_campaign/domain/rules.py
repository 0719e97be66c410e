"""Rules on campaign content that no single field can state: dates, messages, weights,
placeholders, invitations."""

from __future__ import annotations

from typing import Any

from telecast_campaign.domain.audience import campaign_filters
from telecast_campaign.domain.errors import ValidationFailed
from telecast_campaign.domain.invitation import check_invitation
from telecast_campaign.domain.message_content import check_message
from telecast_libs.contracts.base import to_builtins
from telecast_libs.contracts.campaigns import CampaignContent


def check_content(content: CampaignContent) -> None:
    """Raise ``ValidationFailed`` naming the field when the content breaks a rule."""
    if content.start_date and content.end_date and content.start_date >= content.end_date:
        raise ValidationFailed(
            "startDate must be before endDate",
            details=[{"field": "endDate", "message": "must be after startDate"}],
        )
    if content.target_audience is not None:
        # The filters in the filter language: an ageRange [45, 18] is refused now, not when
        # the audience is first counted.
        campaign_filters(to_builtins(content.target_audience.filters))
    if content.invitation is not None:
        check_invitation(content.invitation)
    for index, message in enumerate(content.messages):
        field = f"messages[{index}]"
        has_own = message.content is not None or message.template_id is not None
        if not has_own and not message.variations:
            raise ValidationFailed(
                f"{field} needs content, a templateId or variations",
                details=[{"field": field, "message": "content or templateId is required"}],
            )
        total = sum(variation.weight for variation in message.variations)
        # The message's own content (or template) takes what the variations leave of 100;
        # without one of its own, the variations must cover the whole audience.
        if total > 100 or (not has_own and total != 100):
            expected = "at most 100" if has_own else "exactly 100"
            raise ValidationFailed(
                f"{field}.variations weights sum to {total}; they must sum to {expected}",
                details=[
                    {"field": f"{field}.variations", "message": f"weights must sum to {expected}"}
                ],
            )
        ids = [v.id for v in message.variations if v.id is not None]
        if len(ids) != len(set(ids)):
            raise ValidationFailed(
                f"{field}.variations ids must be unique",
                details=[{"field": f"{field}.variations", "message": "duplicate id"}],
            )
        # Placeholders, and with no template (plain text) the whole text: see message_content.
        check_message(message, field)


def stored_form(content: CampaignContent) -> dict[str, Any]:
    """The content as stored: builtins, with ids given to messages and variations that lack
    one (derived from the position, so that a replay yields the same ids)."""
    stored = to_builtins(content)
    for m_index, message in enumerate(stored.get("messages", [])):
        message.setdefault("id", f"msg{m_index + 1}")
        for v_index, variation in enumerate(message.get("variations", [])):
            variation.setdefault("id", f"var{v_index + 1}")
    return stored
