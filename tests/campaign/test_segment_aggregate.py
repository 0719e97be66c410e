"""The Segment aggregate, and how a campaign's audience is composed from its segments and
recorded by its execution, without any server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from telecast_campaign.domain.campaign import Campaign
from telecast_campaign.domain.errors import StaleVersion, ValidationFailed
from telecast_campaign.domain.filters import matches, parse
from telecast_campaign.domain.segment import Segment, SegmentNotFound
from telecast_campaign.segment_commands import audience_of
from telecast_libs.contracts.campaigns import CampaignContent, ExecutionOptions
from telecast_libs.contracts.segments import SegmentChanges, SegmentDefinition

META = {"actor": {"id": "op-1"}, "correlationId": "corr-1"}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AMERICAS = {"field": "location", "op": "in", "value": ["us", "CA"]}
YOUNG = {"field": "age", "op": "lt", "value": 30}


def segment(name: str = "Americas", filter: dict[str, Any] = AMERICAS) -> Segment:
    definition = msgspec.convert({"name": name, "filter": filter}, SegmentDefinition)
    created = Segment.create(definition, created_by="op-1", meta=META)
    created.collect_events()
    return created


def changes(**fields: Any) -> SegmentChanges:
    return msgspec.convert(fields, SegmentChanges)


# The aggregate -------------------------------------------------------------------------


def test_a_segment_stores_its_filter_validated_and_canonical() -> None:
    definition = msgspec.convert(
        {"name": "Americas", "description": "US and Canada", "filter": AMERICAS},
        SegmentDefinition,
    )
    created = Segment.create(definition, created_by="op-1", meta=META)
    (event,) = created.collect_events()
    assert type(event).__name__ == "Created"
    assert event.filter == {"field": "location", "op": "in", "value": ["US", "CA"]}
    assert (created.name, created.description, created.version) == ("Americas", "US and Canada", 1)
    assert created.expression == parse(AMERICAS)
    assert event.meta == META


def test_a_bad_filter_is_refused_with_its_path() -> None:
    definition = msgspec.convert(
        {"name": "Bad", "filter": {"and": [AMERICAS, {"field": "age", "op": "any", "value": 1}]}},
        SegmentDefinition,
    )
    with pytest.raises(ValidationFailed) as refused:
        Segment.create(definition, created_by="op-1", meta=META)
    assert refused.value.details[0]["field"] == "filter.and[1].op"


def test_update_records_only_what_changed() -> None:
    americas = segment()
    americas.update(
        changes(name="Americas", filter={"field": "location", "op": "in", "value": ["US", "CA"]}),
        META,
    )
    assert americas.collect_events() == []
    americas.update(changes(name="North America", filter=YOUNG), META)
    (event,) = americas.collect_events()
    assert event.changes == {"name": "North America", "filter": YOUNG}
    assert americas.version == 2
    assert americas.expression == parse(YOUNG)
    with pytest.raises(ValidationFailed):
        americas.update(changes(), META)
    with pytest.raises(ValidationFailed):
        americas.update(changes(filter={"field": "nope", "op": "eq", "value": 1}), META)
    assert americas.version == 2


def test_delete_and_versions() -> None:
    americas = segment()
    americas.check_version(None)
    americas.check_version(1)
    with pytest.raises(StaleVersion):
        americas.check_version(2)
    americas.delete(META)
    assert americas.deleted
    assert type(americas.collect_events()[0]).__name__ == "Deleted"


# Campaign audiences --------------------------------------------------------------------


def campaign(target: dict[str, Any] | None = None, **fields: Any) -> Campaign:
    content = msgspec.convert(
        {
            "name": "Summer",
            "type": "message",
            **({"targetAudience": target} if target else {}),
            **fields,
        },
        CampaignContent,
    )
    created = Campaign.create(content, created_by="op-1", meta=META)
    created.collect_events()
    return created


def lookup_of(*segments: Segment) -> Any:
    known = {str(s.id): s for s in segments}
    return known.get


def contact(**fields: Any) -> dict[str, Any]:
    return {"location": "US", "age": 25, "interests": [], "isTestRecipient": False} | fields


def test_the_audience_is_the_union_of_segments_narrowed_by_the_campaign_filters() -> None:
    americas, young = segment(), segment("Young", YOUNG)
    summer = campaign(
        {"segments": [str(americas.id), str(young.id)], "filters": {"interests": ["shopping"]}}
    )
    audience = audience_of(summer.content, lookup_of(americas, young), strict=True)
    tree = audience.filter()
    assert matches(tree, contact(location="DE", interests=["shopping"]))  # young
    assert matches(tree, contact(age=60, interests=["shopping"]))  # in the Americas
    assert not matches(tree, contact(location="DE", age=60, interests=["shopping"]))  # neither
    assert not matches(tree, contact())  # not narrowed in
    assert not matches(audience.filter(test_mode=True), contact(interests=["shopping"]))
    assert matches(
        audience.filter(test_mode=True), contact(interests=["shopping"], isTestRecipient=True)
    )


def test_no_segment_means_every_contact_the_filters_let_through() -> None:
    audience = audience_of(campaign().content, lookup_of(), strict=True)
    assert audience.filter() == parse({"and": []})
    narrowed = audience_of(
        campaign({"filters": {"ageRange": [18, 20]}}).content, lookup_of(), strict=True
    )
    assert not matches(narrowed.filter(), contact())


def test_a_missing_or_deleted_segment_is_refused_when_strict_and_skipped_otherwise() -> None:
    americas, gone = segment(), segment("Gone")
    gone.delete(META)
    ids = [str(americas.id), "seg789", str(gone.id), str(americas.id)]
    content = campaign({"segments": ids}).content
    with pytest.raises(SegmentNotFound) as refused:
        audience_of(content, lookup_of(americas, gone), strict=True)
    assert refused.value.code == "SEGMENT_NOT_FOUND"
    assert refused.value.details == {
        "field": "targetAudience.segments[1]",
        "segmentId": "seg789",
        "reason": "missing",
    }
    lenient = audience_of(content, lookup_of(americas, gone), strict=False)
    assert [s.id for s in lenient.segments or ()] == [str(americas.id)]
    assert lenient.skipped == (("seg789", "missing"), (str(gone.id), "deleted"))
    # Every named segment skipped: nobody, not everybody.
    nobody = audience_of(campaign({"segments": ["seg789"]}).content, lookup_of(), strict=False)
    assert not matches(nobody.filter(), contact())


def test_an_execution_records_its_audience_and_later_edits_do_not_change_it() -> None:
    americas = segment()
    summer = campaign({"segments": [str(americas.id)]})

    def audience(strict: bool) -> Any:
        return audience_of(summer.content, lookup_of(americas), strict=strict)

    options = ExecutionOptions(test_mode=True, target_percentage=40)
    summer.execute(options, NOW, META, audience)
    (started,) = summer.collect_events()
    recorded = {
        "filter": {
            "and": [
                {"field": "location", "op": "in", "value": ["US", "CA"]},
                {"field": "isTestRecipient", "op": "eq", "value": True},
            ]
        },
        "segments": [
            {
                "id": str(americas.id),
                "name": "Americas",
                "version": 1,
                # Each segment's own filter, for statistics per segment.
                "filter": {"field": "location", "op": "in", "value": ["US", "CA"]},
            }
        ],
    }
    assert started.audience == recorded
    assert summer.audience == recorded
    americas.update(changes(filter=YOUNG), META)
    assert summer.audience == recorded


def test_execute_refuses_a_missing_segment_and_changes_nothing() -> None:
    summer = campaign({"segments": ["seg789"]})

    def audience(strict: bool) -> Any:
        return audience_of(summer.content, lookup_of(), strict=strict)

    with pytest.raises(SegmentNotFound):
        summer.execute(ExecutionOptions(), NOW, META, audience)
    assert summer.status == "draft"
    assert summer.collect_events() == []


def test_a_scheduled_start_skips_a_segment_deleted_meanwhile() -> None:
    americas, young = segment(), segment("Young", YOUNG)
    summer = campaign({"segments": [str(americas.id), str(young.id)]})

    def audience(strict: bool) -> Any:
        return audience_of(summer.content, lookup_of(americas, young), strict=strict)

    later = datetime(2026, 6, 2, tzinfo=UTC)
    summer.execute(ExecutionOptions(scheduled_at=later), NOW, META, audience)
    young.delete(META)
    summer.start_scheduled(later, META, audience)
    started = summer.collect_events()[-1]
    assert started.audience == {
        "filter": {"field": "location", "op": "in", "value": ["US", "CA"]},
        "segments": [
            {
                "id": str(americas.id),
                "name": "Americas",
                "version": 1,
                "filter": {"field": "location", "op": "in", "value": ["US", "CA"]},
            }
        ],
        "skipped": [{"id": str(young.id), "reason": "deleted"}],
    }
