"""What the dispatcher asks of the campaign service over NATS request/reply.

Commands: complete, pause or fail an execution's campaign (with the reason recorded in the
event), mark a contact blocked. Query: a page of an execution's audience. A refused state
change (the campaign was already paused, completed…) is not an error for the dispatcher: the
event that got there first says what happened.
"""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client

from telecast_libs.command_signing import CommandSigner
from telecast_libs.contracts.contacts import Contact, MarkContactBlocked
from telecast_libs.contracts.errors import Problem
from telecast_libs.contracts.messages import (
    Actor,
    CommandMeta,
    CompleteCampaign,
    FailCampaign,
    PauseCampaign,
)
from telecast_libs.contracts.segments import (
    AudiencePage,
    AudienceRanges,
    ReadAudiencePage,
    ReadAudienceRanges,
)
from telecast_libs.log import get_logger
from telecast_libs.requester import Requester, refusal
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

ACTOR = Actor(id="dispatcher", role="system")
# The answers that mean "already there" rather than "wrong".
_SETTLED = {"INVALID_STATE_TRANSITION", "CAMPAIGN_NOT_FOUND"}


class CampaignClient:
    """Requests to the campaign service, each signed as the dispatcher's (command_signing).

    A refusal, an absent service or an odd answer raises a ``Problem``
    (``telecast_libs.requester``).
    """

    def __init__(
        self, nc: Client, subjects: Subjects, signer: CommandSigner, timeout: float = 10.0
    ) -> None:
        self.requester = Requester(nc, signer, timeout)
        self.subjects = subjects

    def _meta(self, correlation_id: str | None) -> CommandMeta:
        return CommandMeta(actor=ACTOR, correlation_id=correlation_id or "dispatcher")

    async def _command(self, command: Any, correlation_id: str | None) -> bool:
        """True if the command changed the campaign, False if it was already settled."""
        kind = command.__struct_config__.tag
        reply = await self.requester.command(
            self.subjects.command(kind),
            command,
            service="campaign",
            correlation_id=correlation_id,
        )
        if reply.ok:
            return True
        if reply.error is not None and reply.error.code in _SETTLED:
            log.info("campaign.command_settled", kind=kind, code=reply.error.code)
            return False
        raise refusal(reply.error)

    async def complete(
        self, campaign_id: str, reason: str, code: str, correlation_id: str | None
    ) -> bool:
        command = CompleteCampaign(
            meta=self._meta(correlation_id), campaign_id=campaign_id, reason=reason, code=code
        )
        return await self._command(command, correlation_id)

    async def pause(self, campaign_id: str, reason: str, code: str, correlation_id: str | None):
        command = PauseCampaign(
            meta=self._meta(correlation_id), campaign_id=campaign_id, reason=reason, code=code
        )
        return await self._command(command, correlation_id)

    async def fail(
        self,
        campaign_id: str,
        execution_id: str,
        reason: str,
        code: str,
        correlation_id: str | None,
    ) -> bool:
        command = FailCampaign(
            meta=self._meta(correlation_id),
            campaign_id=campaign_id,
            execution_id=execution_id,
            reason=reason,
            code=code,
        )
        return await self._command(command, correlation_id)

    async def mark_blocked(self, telegram_id: int, correlation_id: str | None) -> None:
        request = MarkContactBlocked(meta=self._meta(correlation_id), telegram_id=telegram_id)
        try:
            await self.requester.ask(
                self.subjects.command(request.__struct_config__.tag),
                request,
                Contact,
                service="campaign",
                correlation_id=correlation_id,
            )
        except Problem as problem:
            if problem.code != "CONTACT_NOT_FOUND":
                raise

    async def audience_page(
        self, campaign_id: str, execution_id: str, after: str | None, limit: int
    ) -> AudiencePage:
        request = ReadAudiencePage(
            execution_id=execution_id, campaign_id=campaign_id, after=after, limit=limit
        )
        return await self.requester.ask(
            self.subjects.query(request.__struct_config__.tag),
            request,
            AudiencePage,
            service="campaign",
            correlation_id=None,
        )

    async def audience_ranges(
        self, campaign_id: str, execution_id: str, after: str | None, size: int, pages: int
    ) -> AudienceRanges:
        request = ReadAudienceRanges(
            execution_id=execution_id, campaign_id=campaign_id, after=after, size=size, pages=pages
        )
        return await self.requester.ask(
            self.subjects.query(request.__struct_config__.tag),
            request,
            AudienceRanges,
            service="campaign",
            correlation_id=None,
        )
