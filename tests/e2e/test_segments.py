"""Segments and audiences through the running platform: segment CRUD, live counts and
estimates over seeded contacts, a campaign's computed totalCount and audience preview, and
an execution's audience read page by page over NATS, as the dispatcher will.

Contacts are seeded straight into campaign.contacts, each tagged with this module's own
``attributes.suite``; every segment here filters on it, so contacts other tests add to the
same database never count.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import psycopg
import pytest
from psycopg.types.json import Jsonb

from telecast_campaign.domain.filters import matches, parse
from telecast_devenv.platform import Platform
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.replies import Reply
from telecast_libs.contracts.segments import AudiencePage, ReadAudiencePage
from telecast_libs.subjects import subjects_for

SUITE = f"segments-{uuid.uuid4().hex[:8]}"
MINE = {"field": "attributes.suite", "op": "eq", "value": SUITE}
COUNTRIES = ["US", "CA", "DE", "FR"]
TAGS = ["shopping", "fashion", "travel", "cars"]
AMERICAS_YOUNG = {
    "and": [
        MINE,
        {"field": "location", "op": "in", "value": ["US", "CA"]},
        {"field": "age", "op": "between", "value": [18, 45]},
        {"field": "interests", "op": "any", "value": ["shopping"]},
    ]
}


def _contact(rng: random.Random, **fields: Any) -> dict[str, Any]:
    contact = {
        "id": str(uuid.uuid4()),
        "telegramId": rng.randrange(10**12),
        "chatType": rng.choice(["private", "private", "group", "channel"]),
        "username": rng.choice([None, f"user{rng.randrange(1000)}"]),
        "firstName": rng.choice(["Ann", "Bob", "Chloé", None]),
        "lastName": rng.choice(["Smith", None]),
        "languageCode": rng.choice(["en", "de", None]),
        "location": rng.choice([*COUNTRIES, None]),
        "age": rng.choice([None, *range(16, 70)]),
        "interests": rng.sample(TAGS, rng.randrange(3)),
        "purchaseHistory": rng.random() < 0.5,
        "lastPurchase": None,
        "attributes": {"suite": SUITE, "tier": rng.choice(["gold", "silver"])},
        "isTestRecipient": rng.random() < 0.15,
        "optedOut": rng.random() < 0.1,
        "blocked": rng.random() < 0.05,
    }
    return contact | fields


def _seed(database_url: str, contacts: list[dict[str, Any]]) -> None:
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO campaign.contacts (id, telegram_id, chat_type, username, first_name, "
            "last_name, language_code, location, age, interests, purchase_history, "
            "last_purchase, attributes, is_test_recipient, opted_out, blocked) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    c["id"],
                    c["telegramId"],
                    c["chatType"],
                    c["username"],
                    c["firstName"],
                    c["lastName"],
                    c["languageCode"],
                    c["location"],
                    c["age"],
                    c["interests"],
                    c["purchaseHistory"],
                    c["lastPurchase"],
                    Jsonb(c["attributes"]),
                    c["isTestRecipient"],
                    c["optedOut"],
                    c["blocked"],
                )
                for c in contacts
            ],
        )


def _set(database_url: str, contact_id: str, **columns: Any) -> None:
    with psycopg.connect(database_url) as conn:
        for column, value in columns.items():
            conn.execute(
                psycopg.sql.SQL("UPDATE campaign.contacts SET {} = %s WHERE id = %s").format(
                    psycopg.sql.Identifier(column)
                ),
                (value, contact_id),
            )


def _reachable(contacts: list[dict[str, Any]], raw: dict[str, Any]) -> set[str]:
    tree = parse(raw)
    return {
        c["id"] for c in contacts if not c["optedOut"] and not c["blocked"] and matches(tree, c)
    }


def _matching(contacts: list[dict[str, Any]], raw: dict[str, Any]) -> set[str]:
    tree = parse(raw)
    return {c["id"] for c in contacts if matches(tree, c)}


@pytest.fixture(scope="module")
def contacts(platform: Platform) -> list[dict[str, Any]]:
    rng = random.Random(20241124)
    seeded = [_contact(rng) for _ in range(160)]
    # Enough of the interesting kind that every check below has something to find.
    seeded += [
        _contact(rng, location="US", age=30, interests=["shopping"], optedOut=False, blocked=False)
        for _ in range(20)
    ]
    _seed(platform.database_url, seeded)
    return seeded


def _create_segment(api: httpx.Client, name: str, filter: dict[str, Any], **extra: Any) -> str:
    answer = api.post("/api/v1/segments", json={"name": name, "filter": filter, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def _refused(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code, error
    return error


# Segments --------------------------------------------------------------------------------


def test_segment_crud_with_versions_and_read_your_writes(api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    created = api.post(
        "/api/v1/segments",
        json={
            "name": f"Premium Users {tag}",
            "description": "Gold tier in the Americas",
            "filter": {"and": [MINE, {"field": "location", "op": "in", "value": ["us", "CA"]}]},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()["data"]
    segment_id = body["id"]
    assert body == {
        "id": segment_id,
        "name": f"Premium Users {tag}",
        "version": 1,
        "message": "Segment created successfully",
    }
    assert created.headers["ETag"] == '"1"'

    got = api.get(f"/api/v1/segments/{segment_id}")
    assert got.status_code == 200
    assert got.headers["ETag"] == '"1"'
    segment = got.json()["data"]
    assert segment["filter"] == {
        "and": [MINE, {"field": "location", "op": "in", "value": ["US", "CA"]}]
    }
    assert segment["description"] == "Gold tier in the Americas"
    assert segment["createdBy"]

    listed = api.get("/api/v1/segments", params={"search": f"premium {tag}"}).json()["data"]
    assert [s["id"] for s in listed["segments"]] == [segment_id]
    assert listed["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1}

    updated = api.put(
        f"/api/v1/segments/{segment_id}",
        json={"name": f"Americas {tag}", "filter": MINE},
        headers={"If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["data"]["version"] == 2
    assert api.get(f"/api/v1/segments/{segment_id}").json()["data"]["filter"] == MINE
    _refused(
        api.put(f"/api/v1/segments/{segment_id}", json={"name": "x"}, headers={"If-Match": '"1"'}),
        412,
        "PRECONDITION_FAILED",
    )
    assert (
        api.get("/api/v1/segments", params={"search": f"premium {tag}"}).json()["data"]["segments"]
        == []
    )

    deleted = api.delete(f"/api/v1/segments/{segment_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["data"] == {"message": "Segment deleted successfully"}
    listed = api.get("/api/v1/segments", params={"search": f"americas {tag}"}).json()["data"]
    assert listed["segments"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"name": "x", "filter": {"and": [MINE, {"field": "age", "op": "eq", "value": "old"}]}},
            "filter.and[1].value",
        ),
        ({"name": "x", "filter": {"field": "shoeSize", "op": "eq", "value": 42}}, "filter.field"),
        ({"name": "x", "filter": {"field": "location", "op": "gt", "value": "US"}}, "filter.op"),
        ({"name": "", "filter": MINE}, "name"),
        ({"name": "x", "filter": MINE, "colour": "red"}, None),
        ({"name": "x"}, None),
    ],
)
def test_a_bad_segment_is_refused_naming_the_field(
    api: httpx.Client, body: dict[str, Any], field: str | None
) -> None:
    error = _refused(api.post("/api/v1/segments", json=body), 400, "VALIDATION_ERROR")
    if field is not None:
        assert error["details"][0]["field"] == field


def test_a_missing_segment_is_segment_not_found(api: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    for answer in (
        api.get(f"/api/v1/segments/{missing}"),
        api.get("/api/v1/segments/not-a-uuid"),
        api.put(f"/api/v1/segments/{missing}", json={"name": "x"}),
        api.delete(f"/api/v1/segments/{missing}"),
        api.get(f"/api/v1/segments/{missing}/count"),
    ):
        _refused(answer, 404, "SEGMENT_NOT_FOUND")


# Counts ------------------------------------------------------------------------------------


def test_counts_leave_out_opted_out_and_blocked_contacts_and_say_so(
    api: httpx.Client, contacts: list[dict[str, Any]]
) -> None:
    segment_id = _create_segment(api, "Americas, 18-45, shopping", AMERICAS_YOUNG)
    counted = api.get(f"/api/v1/segments/{segment_id}/count")
    assert counted.status_code == 200, counted.text
    assert counted.json()["data"] == {
        "count": len(_reachable(contacts, AMERICAS_YOUNG)),
        "total": len(_matching(contacts, AMERICAS_YOUNG)),
        "excludes": ["optedOut", "blocked"],
    }
    assert counted.json()["data"]["count"] >= 20
    assert counted.json()["data"]["total"] > counted.json()["data"]["count"]


@pytest.mark.parametrize(
    "filter",
    [
        MINE,
        {"and": [MINE, {"not": {"field": "age", "op": "exists"}}]},
        {"and": [MINE, {"field": "interests", "op": "all", "value": ["shopping", "fashion"]}]},
        {
            "and": [
                MINE,
                {
                    "or": [
                        {"field": "chatType", "op": "ne", "value": "private"},
                        {"field": "attributes.tier", "op": "eq", "value": "gold"},
                    ]
                },
            ]
        },
        {
            "and": [
                MINE,
                {"field": "location", "op": "nin", "value": ["US", "DE"]},
                {"field": "isTestRecipient", "op": "eq", "value": True},
            ]
        },
    ],
)
def test_an_estimate_counts_an_ad_hoc_filter(
    api: httpx.Client, contacts: list[dict[str, Any]], filter: dict[str, Any]
) -> None:
    estimated = api.post("/api/v1/segments/estimate", json={"filter": filter})
    assert estimated.status_code == 200, estimated.text
    data = estimated.json()["data"]
    assert (data["count"], data["total"]) == (
        len(_reachable(contacts, filter)),
        len(_matching(contacts, filter)),
    )
    bad = api.post("/api/v1/segments/estimate", json={"filter": {"not": {"field": "age"}}})
    assert _refused(bad, 400, "VALIDATION_ERROR")["details"][0]["field"] == "filter.not.op"


# Campaign audiences ------------------------------------------------------------------------


def _campaign(api: httpx.Client, segments: list[str], **audience: Any) -> str:
    body = {
        "name": "Audience",
        "type": "message",
        "targetAudience": {"segments": segments, **audience},
    }
    answer = api.post("/api/v1/campaigns", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def test_a_campaign_audience_is_the_union_of_its_segments_narrowed_by_its_filters(
    api: httpx.Client, contacts: list[dict[str, Any]]
) -> None:
    americas = {"and": [MINE, {"field": "location", "op": "in", "value": ["US", "CA"]}]}
    gold = {"and": [MINE, {"field": "attributes.tier", "op": "eq", "value": "gold"}]}
    segments = [_create_segment(api, "Americas", americas), _create_segment(api, "Gold", gold)]
    filters = {"ageRange": [18, 45], "interests": ["shopping", "travel"]}
    campaign_id = _campaign(api, segments, filters=filters)
    audience = {
        "and": [
            {"or": [americas, gold]},
            {"field": "age", "op": "between", "value": [18, 45]},
            {"field": "interests", "op": "any", "value": ["shopping", "travel"]},
        ]
    }
    expected = _reachable(contacts, audience)
    assert expected

    detail = api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]
    assert detail["targetAudience"]["totalCount"] == len(expected)
    assert detail["targetAudience"]["segments"] == segments

    preview = api.get(f"/api/v1/campaigns/{campaign_id}/audience/preview")
    assert preview.status_code == 200, preview.text
    data = preview.json()["data"]
    assert data["count"] == len(expected)
    assert data["total"] == len(_matching(contacts, audience))
    assert data["excludes"] == ["optedOut", "blocked"]
    assert 0 < len(data["sample"]) <= 10
    by_id = {c["id"]: c for c in contacts}
    for shown in data["sample"]:
        assert shown["id"] in expected
        assert shown["telegramId"] == by_id[shown["id"]]["telegramId"]
        assert set(shown) <= {
            "id",
            "telegramId",
            "chatType",
            "username",
            "firstName",
            "lastName",
            "languageCode",
            "location",
            "age",
            "lastPurchase",
            "attributes",
        }
    _refused(
        api.get(f"/api/v1/campaigns/{uuid.uuid4()}/audience/preview"), 404, "CAMPAIGN_NOT_FOUND"
    )


def test_executing_a_campaign_whose_segment_is_missing_is_refused(api: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    campaign_id = _campaign(api, [missing])
    # Its draft still counts (the missing segment contributes nobody).
    assert (
        api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]["targetAudience"]["totalCount"]
        == 0
    )
    error = _refused(api.post(f"/api/v1/campaigns/{campaign_id}/execute"), 404, "SEGMENT_NOT_FOUND")
    assert error["details"] == {
        "field": "targetAudience.segments[0]",
        "segmentId": missing,
        "reason": "missing",
    }
    assert api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]["status"] == "draft"


# The execution's audience, page by page -----------------------------------------------------


async def _read_all(
    platform: Platform, campaign_id: str, execution_id: str, limit: int
) -> list[list[str]]:
    """Every page, as the dispatcher reads them: each ``next`` is the following ``after``."""
    subject = subjects_for(platform.namespace).query("audience.page")
    nc = await nats.connect(platform.nats_url)
    pages: list[list[str]] = []
    try:
        after = None
        while True:
            request = ReadAudiencePage(
                execution_id=execution_id, campaign_id=campaign_id, after=after, limit=limit
            )
            msg = await nc.request(subject, encode(request), timeout=10)
            reply = decode(msg.data, Reply[AudiencePage])
            if not reply.ok or reply.data is None:
                raise PageRefused(reply.error.code if reply.error else "no data")
            pages.append([c.id for c in reply.data.contacts])
            if reply.data.next is None:
                return pages
            after = reply.data.next
    finally:
        await nc.close()


class PageRefused(Exception):
    pass


def _pages(platform: Platform, campaign_id: str, execution_id: str, limit: int) -> list[str]:
    pages = asyncio.run(_read_all(platform, campaign_id, execution_id, limit))
    assert all(len(page) == limit for page in pages[:-1])
    flat = [contact_id for page in pages for contact_id in page]
    assert flat == sorted(flat, key=uuid.UUID), "pages come in id order"
    assert len(flat) == len(set(flat)), "no contact twice"
    return flat


def _execute(api: httpx.Client, campaign_id: str, **options: Any) -> str:
    answer = api.post(f"/api/v1/campaigns/{campaign_id}/execute", json=options)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["executionId"]


def test_an_execution_audience_is_the_one_of_its_start(
    platform: Platform, api: httpx.Client, contacts: list[dict[str, Any]]
) -> None:
    segment_id = _create_segment(api, "Young shoppers", AMERICAS_YOUNG)
    campaign_id = _campaign(api, [segment_id])
    expected = _reachable(contacts, AMERICAS_YOUNG)
    execution_id = _execute(api, campaign_id)
    started = datetime.now(UTC)
    assert set(_pages(platform, campaign_id, execution_id, limit=7)) == expected

    # After the start: a new matching contact is not in it, an edit of the segment changes
    # nothing, an opt-out is honored.
    rng = random.Random(7)
    late = _contact(
        rng, location="US", age=30, interests=["shopping"], optedOut=False, blocked=False
    )
    _seed(platform.database_url, [late])
    assert api.put(f"/api/v1/segments/{segment_id}", json={"filter": MINE}).status_code == 200
    leaving = sorted(expected)[len(expected) // 2]
    _set(platform.database_url, leaving, opted_out=True)
    next(c for c in contacts if c["id"] == leaving)["optedOut"] = True
    after = _pages(platform, campaign_id, execution_id, limit=5)
    assert set(after) == expected - {leaving}
    assert late["id"] not in after
    detail = api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]
    assert detail["targetAudience"]["totalCount"] == len(expected) - 1
    assert datetime.fromisoformat(detail["execution"]["startedAt"]) <= started
    # The execution id must be the campaign's.
    with pytest.raises(PageRefused, match="EXECUTION_NOT_FOUND"):
        _pages(platform, campaign_id, str(uuid.uuid4()), limit=5)


def test_target_percentage_takes_a_stable_sample_and_test_mode_only_test_recipients(
    platform: Platform, api: httpx.Client, contacts: list[dict[str, Any]]
) -> None:
    rng = random.Random(99)
    many = [
        _contact(rng, location="DE", interests=["cars"], optedOut=False, blocked=False)
        for _ in range(400)
    ]
    _seed(platform.database_url, many)
    germans = {"and": [MINE, {"field": "location", "op": "eq", "value": "DE"}]}
    segment_id = _create_segment(api, "Germany", germans)
    everyone = _reachable([*contacts, *many], germans)

    sampled = _campaign(api, [segment_id])
    execution_id = _execute(api, sampled, targetPercentage=25)
    first = _pages(platform, sampled, execution_id, limit=50)
    again = _pages(platform, sampled, execution_id, limit=33)
    assert first == again
    assert set(first) <= everyone
    expected = len(everyone) * 0.25  # about 110; a standard deviation is about 9
    assert abs(len(first) - expected) < 40, (len(first), len(everyone))
    count = api.get(f"/api/v1/campaigns/{sampled}").json()["data"]["targetAudience"]["totalCount"]
    assert count == len(first)

    testing = _campaign(api, [segment_id])
    test_execution = _execute(api, testing, testMode=True)
    testers = {c["id"] for c in [*contacts, *many] if c["isTestRecipient"]} & everyone
    assert testers
    assert set(_pages(platform, testing, test_execution, limit=100)) == testers
