"""The Campaign aggregate and its rules, without any server."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import (
    ChangeConflicts,
    EditNotAllowed,
    StaleVersion,
    ValidationFailed,
)
from telecast_libs.contracts.base import decode
from telecast_libs.contracts.campaigns import CampaignChanges, CampaignContent

META = {"actor": {"id": "op-1"}, "correlationId": "corr-1"}


def content(**fields: object) -> CampaignContent:

    return msgspec.convert({"name": "Summer Sale", "type": "message", **fields}, CampaignContent)


def changes(**fields: object) -> CampaignChanges:

    return msgspec.convert(fields, CampaignChanges)


def test_a_new_campaign_is_a_draft_recording_who_created_it() -> None:
    campaign = Campaign.create(content(description="d"), created_by="op-1", meta=META)
    events = campaign.collect_events()
    assert [type(e).__name__ for e in events] == ["Created"]
    assert campaign.status == "draft"
    assert campaign.version == 1
    assert events[0].created_by == "op-1"
    assert events[0].meta == META
    assert events[0].content == {"name": "Summer Sale", "type": "message", "description": "d"}


def test_messages_and_variations_get_stable_ids() -> None:
    campaign = Campaign.create(
        content(messages=[{"content": "Hi", "variations": [{"content": "Yo", "weight": 50}]}]),
        created_by="op-1",
        meta=META,
    )
    message = campaign.content["messages"][0]
    assert message["id"] == "msg1"
    assert message["variations"][0]["id"] == "var1"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {"startDate": "2024-12-01T00:00:00Z", "endDate": "2024-11-01T00:00:00Z"},
            "endDate",
        ),
        ({"messages": [{"personalization": {"enabled": True}}]}, "messages[0]"),
        (
            {"messages": [{"content": "a", "variations": [{"content": "b", "weight": 101}]}]},
            None,  # refused by the field's own bound before any rule
        ),
        (
            {
                "messages": [
                    {
                        "content": "a",
                        "variations": [
                            {"content": "b", "weight": 60},
                            {"content": "c", "weight": 50},
                        ],
                    }
                ]
            },
            "messages[0].variations",
        ),
        (
            {"messages": [{"variations": [{"content": "b", "weight": 60}]}]},
            "messages[0].variations",
        ),
    ],
)
def test_content_that_breaks_a_rule_is_refused_naming_the_field(
    fields: dict, field: str | None
) -> None:

    if field is None:
        with pytest.raises(msgspec.ValidationError):
            content(**fields)
        return
    with pytest.raises(ValidationFailed) as refused:
        Campaign.create(content(**fields), created_by="op-1", meta=META)
    assert refused.value.details[0]["field"] == field


def test_variations_alone_must_cover_the_whole_audience() -> None:
    campaign = Campaign.create(
        content(
            messages=[
                {
                    "variations": [
                        {"content": "A", "weight": 50},
                        {"content": "B", "weight": 50},
                    ]
                }
            ]
        ),
        created_by="op-1",
        meta=META,
    )
    assert len(campaign.content["messages"][0]["variations"]) == 2


def test_update_records_only_what_changed_and_keeps_the_rest() -> None:
    campaign = Campaign.create(content(description="old", budget=10), created_by="op", meta=META)
    campaign.collect_events()
    campaign.update(changes(description="new"), meta=META)
    (updated,) = campaign.collect_events()
    assert updated.changes == {"description": "new"}
    assert campaign.content["description"] == "new"
    assert campaign.content["budget"] == 10
    assert campaign.version == 2


def test_update_merges_nested_objects_as_a_json_merge_patch() -> None:
    # The spec's update sends goals without revenue: the revenue stays.
    campaign = Campaign.create(
        content(goals={"targetAudience": 20000, "conversionRate": 10, "revenue": 100000}),
        created_by="op",
        meta=META,
    )
    campaign.collect_events()
    campaign.update(changes(goals={"targetAudience": 25000, "conversionRate": 12}), meta=META)
    (updated,) = campaign.collect_events()
    expected = {"targetAudience": 25000, "conversionRate": 12, "revenue": 100000}
    assert updated.changes == {"goals": expected}
    assert campaign.content["goals"] == expected


def test_update_null_removes_a_field_nested_or_not() -> None:
    campaign = Campaign.create(
        content(
            description="d",
            goals={"conversionRate": 10, "revenue": 5},
            targetAudience={
                "segments": ["s1"],
                "filters": {"location": ["US"], "ageRange": [1, 9]},
            },
        ),
        created_by="op",
        meta=META,
    )
    campaign.update(
        changes(
            description=None,
            goals={"revenue": None},
            targetAudience={"filters": {"ageRange": None}},
        ),
        meta=META,
    )
    created, updated = campaign.collect_events()
    assert updated.changes["description"] is None
    assert "description" not in campaign.content
    assert campaign.content["goals"] == {"conversionRate": 10}
    assert campaign.content["targetAudience"] == {
        "segments": ["s1"],
        "filters": {"location": ["US"]},
    }
    # The stored events, replayed, give the same content.
    assert updated.mutate(created.mutate(None)).content == campaign.content


def test_update_replaces_lists_whole() -> None:
    campaign = Campaign.create(
        content(targetAudience={"segments": ["s1", "s2"]}, strategy={"channels": ["a", "b"]}),
        created_by="op",
        meta=META,
    )
    campaign.update(
        changes(targetAudience={"segments": ["s3"]}, strategy={"channels": None}), meta=META
    )
    assert campaign.content["targetAudience"] == {"segments": ["s3"]}
    assert campaign.content["strategy"] == {}


def test_name_type_and_status_cannot_be_null() -> None:
    for field in ("name", "type", "status"):
        with pytest.raises(msgspec.ValidationError, match=f"at `\\$.{field}`"):
            changes(**{field: None})


def test_update_checks_the_merged_content() -> None:
    campaign = Campaign.create(
        content(startDate="2024-11-01T00:00:00Z"), created_by="op", meta=META
    )
    # Valid by itself, not with the stored startDate: a conflict with the campaign (409).
    with pytest.raises(ChangeConflicts) as conflict:
        campaign.update(changes(endDate="2024-10-01T00:00:00Z"), meta=META)
    assert conflict.value.code == "CONFLICTS_WITH_CAMPAIGN"
    assert conflict.value.details == [{"field": "endDate", "message": "must be after startDate"}]
    # An invitation setting with no chat to invite to (the campaign has no invitation).
    with pytest.raises(ChangeConflicts):
        campaign.update(changes(invitation={"expireHours": 5}), meta=META)
    # Both dates in the body, out of order: the body's own fault (400), whatever is stored.
    with pytest.raises(ValidationFailed) as invalid:
        campaign.update(
            changes(startDate="2024-12-01T00:00:00Z", endDate="2024-10-01T00:00:00Z"), meta=META
        )
    assert invalid.value.code == "VALIDATION_ERROR"
    assert campaign.version == 1


def test_a_campaign_whose_messages_were_emptied_can_still_be_edited_and_cloned() -> None:
    campaign = Campaign.create(content(messages=[{"content": "Hello"}]), created_by="op", meta=META)
    campaign.update(changes(messages=[]), meta=META)
    campaign.update(changes(name="Renamed"), meta=META)
    copy = campaign.clone(None, reset_statistics=True, created_by="op", meta=META)
    assert "messages" not in campaign.content
    assert copy.content == {"name": "Renamed (Copy)", "type": "message"}


def test_an_update_without_content_changes_records_nothing() -> None:
    campaign = Campaign.create(content(), created_by="op", meta=META)
    campaign.collect_events()
    campaign.update(changes(status="active"), meta=META)
    assert campaign.collect_events() == []


def test_audience_and_messages_are_frozen_outside_draft() -> None:
    campaign = Campaign.create(content(), created_by="op", meta=META)
    campaign.status = "active"  # what an execution will record
    with pytest.raises(EditNotAllowed) as refused:
        campaign.update(changes(targetAudience={"segments": ["seg1"]}), meta=META)
    assert refused.value.details["fields"] == ["targetAudience"]
    campaign.update(changes(name="Renamed"), meta=META)
    assert campaign.content["name"] == "Renamed"


def test_final_campaigns_cannot_be_edited() -> None:
    campaign = Campaign.create(content(), created_by="op", meta=META)
    campaign.status = "completed"
    with pytest.raises(EditNotAllowed):
        campaign.update(changes(name="x"), meta=META)


def test_delete_only_in_draft_or_cancelled() -> None:
    campaign = Campaign.create(content(), created_by="op", meta=META)
    campaign.status = "paused"
    with pytest.raises(EditNotAllowed):
        campaign.delete(meta=META)
    campaign.status = "draft"
    campaign.delete(meta=META)
    assert campaign.deleted


def test_a_stale_expected_version_is_refused() -> None:
    campaign = Campaign.create(content(), created_by="op", meta=META)
    campaign.check_version(None)
    campaign.check_version(1)
    with pytest.raises(StaleVersion) as refused:
        campaign.check_version(0)
    assert refused.value.details == {"currentVersion": 1}


def test_times_without_an_offset_are_refused_and_utc_is_kept() -> None:

    with pytest.raises(msgspec.ValidationError):
        decode(b'{"name":"a","type":"message","startDate":"2024-01-01T00:00:00"}', CampaignContent)
    parsed = decode(
        b'{"name":"a","type":"message","startDate":"2024-01-01T02:00:00+02:00"}', CampaignContent
    )
    assert parsed.start_date == datetime(2024, 1, 1, tzinfo=UTC)
