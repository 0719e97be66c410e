"""What the dispatcher asks of the campaign service over NATS request/reply.

Commands: complete, pause or fail an execution's campaign (with the reason recorded in the
event), mark a contact blocked. Query: a page of an execution's audience. A refused state
change (the campaign was already paused, completed…) is not an error for the dispatcher: the
event that got there first says what happened.
"""

from __future__ import annotations

from typing import Any

import msgspec
from nats.aio.client import Client

from telecast_libs.command_signing import CommandSigner
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.contacts import MarkContactBlocked
from telecast_libs.contracts.messages import (
    Actor,
    CommandMeta,
    CommandReply,
    CompleteCampaign,
    FailCampaign,
    PauseCampaign,
)
from telecast_libs.contracts.replies import Reply
from telecast_libs.contracts.segments import (
    AudiencePage,
    AudienceRanges,
    ReadAudiencePage,
    ReadAudienceRanges,
)
from telecast_libs.log import CORRELATION_HEADER, get_logger
from telecast_libs.subjects import Subjects

log = get_logger(__name__)

ACTOR = Actor(id="dispatcher", role="system")
# The answers that mean "already there" rather than "wrong".
_SETTLED = {"INVALID_STATE_TRANSITION", "CAMPAIGN_NOT_FOUND"}


class CampaignServiceError(Exception):
    """The campaign service refused a request or did not answer as expected."""


class CampaignClient:
    """Requests to the campaign service, each signed as the dispatcher's (command_signing)."""

    def __init__(
        self, nc: Client, subjects: Subjects, signer: CommandSigner, timeout: float = 10.0
    ) -> None:
        self.nc = nc
        self.subjects = subjects
        self.signer = signer
        self.timeout = timeout

    def _meta(self, correlation_id: str | None) -> CommandMeta:
        return CommandMeta(actor=ACTOR, correlation_id=correlation_id or "dispatcher")

    async def _request(self, subject: str, body: Any, correlation_id: str | None) -> bytes:
        payload = encode(body)
        headers = {CORRELATION_HEADER: correlation_id} if correlation_id else None
        headers = self.signer.sign(subject, payload, headers)
        reply = await self.nc.request(subject, payload, timeout=self.timeout, headers=headers)
        return reply.data

    async def _command(self, command: Any, correlation_id: str | None) -> bool:
        """True if the command changed the campaign, False if it was already settled."""
        raw = await self._request(
            self.subjects.command(command.__struct_config__.tag), command, correlation_id
        )
        kind = command.__struct_config__.tag
        reply = decode(raw, CommandReply)
        if reply.ok:
            return True
        if reply.error is not None and reply.error.code in _SETTLED:
            log.info("campaign.command_settled", kind=kind, code=reply.error.code)
            return False
        raise CampaignServiceError(f"{kind}: {reply.error}")

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
        raw = await self._request(
            self.subjects.command(request.__struct_config__.tag), request, correlation_id
        )
        reply = decode(raw, Reply[Any])
        if not reply.ok and (reply.error is None or reply.error.code != "CONTACT_NOT_FOUND"):
            raise CampaignServiceError(f"contact.mark_blocked: {reply.error}")

    async def audience_page(
        self, campaign_id: str, execution_id: str, after: str | None, limit: int
    ) -> AudiencePage:
        request = ReadAudiencePage(
            execution_id=execution_id, campaign_id=campaign_id, after=after, limit=limit
        )
        raw = await self._request(self.subjects.query(request.__struct_config__.tag), request, None)
        try:
            reply = decode(raw, Reply[AudiencePage])
        except msgspec.ValidationError as error:
            raise CampaignServiceError(
                f"audience.page answered in another shape: {error}"
            ) from None
        if not reply.ok or reply.data is None:
            raise CampaignServiceError(f"audience.page: {reply.error}")
        return reply.data

    async def audience_ranges(
        self, campaign_id: str, execution_id: str, after: str | None, size: int, pages: int
    ) -> AudienceRanges:
        request = ReadAudienceRanges(
            execution_id=execution_id, campaign_id=campaign_id, after=after, size=size, pages=pages
        )
        raw = await self._request(self.subjects.query(request.__struct_config__.tag), request, None)
        try:
            reply = decode(raw, Reply[AudienceRanges])
        except msgspec.ValidationError as error:
            raise CampaignServiceError(f"audience.ranges answered otherwise: {error}") from None
        if not reply.ok or reply.data is None:
            raise CampaignServiceError(f"audience.ranges: {reply.error}")
        return reply.data
