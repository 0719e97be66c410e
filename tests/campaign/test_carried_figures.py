"""What campaign events carry for the read side: the audience's size when it was counted
(``audienceCount``), and a clone's baseline of its source's statistics. Without any server:
the counts come from a fake of the domain's own ``AudienceCounts`` port."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from telecast_campaign.domain.audience import Audience
from telecast_campaign.domain.campaign import Campaign
from telecast_libs.contracts.campaigns import CampaignChanges, CampaignContent, ExecutionOptions

META = {"actor": {"id": "op-1"}, "correlationId": "corr-1"}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BASELINE = {"campaignId": "c0", "countedAt": "2026-06-01T11:00:00Z", "overview": {}}


class Counts:
    """Answers from a table, and remembers what it was asked to count."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def of_content(self, content: dict[str, Any]) -> dict[str, Any] | None:
        self.asked.append(content.get("targetAudience"))
        return {"totalCount": 40, "countedAt": "2026-06-01T12:00:00Z"}

    def of_execution(
        self, audience: dict[str, Any], execution: dict[str, Any]
    ) -> dict[str, Any] | None:
        self.asked.append((audience["filter"], execution["startedAt"], execution["testMode"]))
        return {"totalCount": 7, "countedAt": execution["startedAt"]}


def everyone(strict: bool) -> Audience:
    return Audience(None)


def draft(counts: Counts) -> Campaign:
    content = msgspec.convert(
        {"name": "Sale", "type": "message", "targetAudience": {"segments": []}}, CampaignContent
    )
    return Campaign.create(content, created_by="op-1", meta=META, counts=counts)


def test_a_new_campaign_carries_its_audience_count() -> None:
    counts = Counts()
    campaign = draft(counts)
    [created] = campaign.collect_events()
    assert created.audience_count == {"totalCount": 40, "countedAt": "2026-06-01T12:00:00Z"}
    assert counts.asked == [{}]


def test_a_drafts_edit_is_counted_again_and_a_started_ones_is_not() -> None:
    counts = Counts()
    campaign = draft(counts)
    campaign.update(msgspec.convert({"name": "Renamed"}, CampaignChanges), META, counts=counts)
    campaign.execute(ExecutionOptions(test_mode=True), NOW, META, everyone, counts=counts)
    campaign.update(msgspec.convert({"name": "Again"}, CampaignChanges), META, counts=counts)
    _, updated, started, renamed = campaign.collect_events()
    assert updated.audience_count["totalCount"] == 40
    # At the start, the execution's own audience (test recipients only here), counted then.
    assert started.audience_count == {"totalCount": 7, "countedAt": "2026-06-01T12:00:00Z"}
    assert counts.asked[-1][1:] == ("2026-06-01T12:00:00Z", True)
    assert renamed.audience_count is None


def test_a_clone_carries_the_baseline_only_without_reset() -> None:
    source = draft(Counts())
    kept = source.clone(None, False, "op-1", META, counts=Counts(), baseline=BASELINE)
    reset = source.clone(None, True, "op-1", META, counts=Counts(), baseline=BASELINE)
    [kept_created] = kept.collect_events()
    [reset_created] = reset.collect_events()
    assert kept_created.cloned_from == {
        "campaignId": str(source.id),
        "resetStatistics": False,
        "baseline": BASELINE,
    }
    assert reset_created.cloned_from == {"campaignId": str(source.id), "resetStatistics": True}
    assert kept_created.audience_count["totalCount"] == 40
