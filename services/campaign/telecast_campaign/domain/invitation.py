"""The rules of an invitation campaign: which chat its links invite to, and how.

``invitation`` is optional content: a campaign of type ``invitation`` needs it to be
executed (the dispatcher makes each recipient's link from it); on another type it is kept
but unused, so that changing a campaign's type back and forth loses nothing.
"""

from __future__ import annotations

from typing import Any

from telecast_campaign.domain.errors import ValidationFailed
from telecast_libs.contracts.campaigns import CampaignType, Invitation


def check_invitation(invitation: Invitation) -> None:
    """Raise ``ValidationFailed`` for settings Telegram would refuse when making a link."""
    # Telegram's createChatInviteLink: a link that asks for approval has no member limit.
    if invitation.join_request and invitation.member_limit is not None:
        raise ValidationFailed(
            "invitation.memberLimit cannot be given with joinRequest: a link that asks the "
            "administrators to approve has no member limit",
            details=[
                {"field": "invitation.memberLimit", "message": "not allowed with joinRequest"}
            ],
        )


def require_invitation(content: dict[str, Any]) -> None:
    """Raise ``ValidationFailed`` when the (stored) content is an invitation campaign that
    does not say which chat to invite to."""
    if content["type"] == CampaignType.INVITATION.value and not content.get("invitation"):
        raise ValidationFailed(
            "an invitation campaign needs invitation.chatId, the group or channel to invite "
            "to, before it is executed",
            details=[
                {
                    "field": "invitation.chatId",
                    "message": "required to execute an invitation campaign",
                }
            ],
        )
