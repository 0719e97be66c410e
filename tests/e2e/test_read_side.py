"""The read side shows whatever the command side accepts, and says so when it cannot.

First a property: campaign bodies are drawn from the structs the gateway validates them with
(``CampaignContent`` for create, ``CampaignChanges`` for update), walked with
``msgspec.inspect``: every optional field present or absent, ``null`` where the type allows
it, lists empty or not, every enum value, each constraint (lengths, ranges, time zones) as
the struct states it. A field added to the API is drawn without a change here. The rules no
type can state (dates in order, variation weights, known placeholder fields…) are then
applied to each body, so that every body is one the API must accept. Each is created, read
back by GET detail and found by GET list with its fields as sent; then two updates are drawn,
applied and read back the same way.

Then the failures: a read model the projection cannot render is a 500 ``INTERNAL_ERROR``,
logged with the request's correlation id and the campaign's id; only a projection that does
not answer is a 503.
"""

from __future__ import annotations

import json
import re
import string
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import msgspec
import msgspec.inspect as mi
import psycopg
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from telecast_devenv.platform import Platform
from telecast_libs.content.rendering import FIELD_MAX_LENGTH
from telecast_libs.contracts.campaigns import CampaignChanges, CampaignContent

pytestmark = pytest.mark.e2e

# Short values keep each example fast; the length limits themselves are tested elsewhere.
_LONGEST_TEXT = 40
_LONGEST_LIST = 3
# Any character a JSON text can carry, but for the braces of placeholders ({{firstName}}),
# whose rules the content tests cover, U+0000 (the types refuse it) and U+FDD0 and U+FDD1
# (the renderer does).
_TEXT = st.characters(codec="utf-8", exclude_characters="{}\x00\ufdd0\ufdd1")
_OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
# msgspec's integers are 64-bit.
_INT64 = 2**63 - 1

# Values the types allow and the filter language or the renderer refuses: drawn from what
# is valid instead (by the field's path in the body).
_LEAVES: dict[str, st.SearchStrategy[Any]] = {
    "targetAudience.filters.location[]": st.text(string.ascii_letters, min_size=2, max_size=2),
    "messages[].personalization.fields[]": st.sampled_from([*FIELD_MAX_LENGTH, "attributes.tier"]),
}


def _drawn(info: mi.Type, path: str) -> st.SearchStrategy[Any]:
    """Any JSON value the type accepts, as a client would send it."""
    if path in _LEAVES:
        return _LEAVES[path]
    match info:
        case mi.Metadata():
            return _drawn(info.type, path)
        case mi.StructType():
            fields = {
                f.encode_name: (f, _drawn(f.type, f"{path}.{f.encode_name}".lstrip(".")))
                for f in info.fields
            }
            return st.fixed_dictionaries(
                {name: drawn for name, (f, drawn) in fields.items() if f.required},
                optional={name: drawn for name, (f, drawn) in fields.items() if not f.required},
            )
        case mi.UnionType():
            return st.one_of([_drawn(member, path) for member in info.types])
        case mi.NoneType():
            return st.none()
        case mi.BoolType():
            return st.booleans()
        case mi.IntType():
            low = info.ge if info.ge is not None else -_INT64
            high = info.le if info.le is not None else _INT64
            return st.integers(low, high)
        case mi.FloatType():
            return st.floats(info.ge, info.le, allow_nan=False, allow_infinity=False)
        case mi.StrType():
            text = st.text(
                _TEXT,
                min_size=info.min_length or 0,
                max_size=min(info.max_length or _LONGEST_TEXT, _LONGEST_TEXT),
            )
            pattern = info.pattern
            return text.filter(lambda s: re.search(pattern, s)) if pattern else text
        case mi.ListType():
            return st.lists(
                _drawn(info.item_type, f"{path}[]"),
                min_size=info.min_length or 0,
                max_size=min(info.max_length or _LONGEST_LIST, _LONGEST_LIST),
            )
        case mi.EnumType():
            return st.sampled_from([member.value for member in info.cls])
        case mi.DateTimeType():
            moments = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=_OFFSETS)
            return moments.map(datetime.isoformat)
    raise TypeError(f"{path}: no strategy for {info}")


# The rules no type states (docs/api.md, docs/content.md) ----------------------------------


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _valid_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each message has content, a template or variations; no text is only white space
    (Telegram refuses an empty message); variation weights sum to at most 100 beside the
    message's own content, to exactly 100 without it; ids are unique."""
    for message in messages:
        for part in [message, *(message.get("variations") or [])]:
            if part.get("content") is not None and not part["content"].strip():
                part["content"] += "x"
        variations = message.get("variations") or []
        has_own = message.get("content") is not None or message.get("templateId") is not None
        if not has_own and not variations:
            message["content"] = "Hello"
            has_own = True
        if variations:
            share = 100 // len(variations)
            for variation in variations:
                variation["weight"] = min(variation["weight"], share) if has_own else share
            if not has_own:
                variations[0]["weight"] += 100 - share * len(variations)
        seen: set[str] = set()
        for variation in variations:
            if variation.get("id") is not None and variation["id"] in seen:
                variation["id"] = None
            seen.add(variation.get("id"))
    return messages


def _valid(body: dict[str, Any]) -> dict[str, Any]:
    """The body with the rules of each object applied (dates are the caller's: on update,
    they are checked against the campaign's)."""
    if body.get("messages"):
        _valid_messages(body["messages"])
    filters = (body.get("targetAudience") or {}).get("filters") or {}
    if filters.get("ageRange"):
        filters["ageRange"] = sorted(filters["ageRange"])
    invitation = body.get("invitation") or {}
    if invitation.get("joinRequest"):
        invitation.pop("memberLimit", None)
    return body


def _dates_in_order(body: dict[str, Any], current: dict[str, Any]) -> None:
    """startDate before endDate, once ``body`` is applied to ``current`` (null removes)."""
    start = body["startDate"] if "startDate" in body else current.get("startDate")
    end = body["endDate"] if "endDate" in body else current.get("endDate")
    if start and end and _moment(start) >= _moment(end):
        body["startDate"], body["endDate"] = start, (_moment(start) + timedelta(days=1)).isoformat()


@st.composite
def _create_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = _valid(draw(_drawn(mi.type_info(CampaignContent), "")))
    _dates_in_order(body, {})
    return body


# A status change is a lifecycle action (execute, pause…), tested with the lifecycle.
_CHANGES = mi.type_info(CampaignChanges)
_CHANGES_WITHOUT_STATUS = msgspec.structs.replace(
    _CHANGES, fields=tuple(f for f in _CHANGES.fields if f.encode_name != "status")
)


@st.composite
def _update_bodies(draw: st.DrawFn, current: dict[str, Any]) -> dict[str, Any]:
    body = _valid(draw(_drawn(_CHANGES_WITHOUT_STATUS, "")))
    # A null removes a field; name and type are required, so a null for them is left out.
    body = {k: v for k, v in body.items() if v is not None or k not in ("name", "type")}
    _dates_in_order(body, current)
    return body


def _updated(content: Any, changes: Any) -> Any:
    """The content after a PUT, a JSON Merge Patch (RFC 7396): absent keeps, null removes,
    objects merge, anything else replaces (docs/api.md; the one place this test states what
    an update means)."""
    if not isinstance(changes, dict):
        return changes
    merged = dict(content) if isinstance(content, dict) else {}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _updated(merged.get(key), value)
    return merged


# Comparing what was sent with what is shown ----------------------------------------------


def _as_the_api_reads_it(content: dict[str, Any]) -> dict[str, Any]:
    """Content as the API means it: decoded by the request struct (so that an absent field
    and its default are the same), an empty audience as none, times in UTC, and the ids the
    API gives messages and variations that have none (msg1, var1… by position)."""
    decoded = msgspec.json.decode(json.dumps(content), type=CampaignContent)
    canonical = msgspec.to_builtins(decoded)
    # The API always shows an audience; with nothing in it, it is the same as none.
    if canonical.get("targetAudience") == {}:
        del canonical["targetAudience"]
    for key in ("startDate", "endDate"):
        if key in canonical:
            canonical[key] = _moment(canonical[key]).astimezone(UTC).isoformat()
    for m, message in enumerate(canonical.get("messages", [])):
        message.setdefault("id", f"msg{m + 1}")
        for v, variation in enumerate(message.get("variations", [])):
            variation.setdefault("id", f"var{v + 1}")
    return canonical


_CONTENT_FIELDS = {f.encode_name for f in mi.type_info(CampaignContent).fields}
# What a list item shows of the content (the rest is in the detail).
_SUMMARY_FIELDS = {
    "name",
    "type",
    "description",
    "goals",
    "strategy",
    "budget",
    "startDate",
    "endDate",
}


def _shown(view: dict[str, Any]) -> dict[str, Any]:
    """The content a detail or list item shows (without the audience's count, which is
    the read side's own)."""
    content = {k: v for k, v in view.items() if k in _CONTENT_FIELDS}
    if "targetAudience" in content:
        audience = content["targetAudience"]
        content["targetAudience"] = {
            k: audience[k] for k in ("segments", "filters") if k in audience
        }
    return _as_the_api_reads_it(content)


def _check_readable(api: httpx.Client, campaign_id: str, content: dict[str, Any]) -> None:
    expected = _as_the_api_reads_it(content)
    detail = api.get(f"/api/v1/campaigns/{campaign_id}")
    assert detail.status_code == 200, detail.text
    assert _shown(detail.json()["data"]) == expected

    page = api.get("/api/v1/campaigns", params={"sort": "-updatedAt", "limit": 5})
    assert page.status_code == 200, page.text
    items = {item["id"]: item for item in page.json()["data"]["campaigns"]}
    assert campaign_id in items, "the campaign is missing from the list"
    item = items[campaign_id]
    summary = {k: v for k, v in _shown(item).items() if k in _SUMMARY_FIELDS}
    assert summary == {k: v for k, v in expected.items() if k in _SUMMARY_FIELDS}
    segments = (expected.get("targetAudience") or {}).get("segments", [])
    assert item["targetAudience"]["segments"] == segments


@settings(
    max_examples=80,
    deadline=None,
    database=None,
    # Explaining a failure replays it many times over HTTP: minutes, for little more than
    # the shrunk body shows.
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_valid_campaign_body_is_readable_and_round_trips(
    api: httpx.Client, data: st.DataObject
) -> None:
    content = data.draw(_create_bodies(), label="create")
    created = api.post("/api/v1/campaigns", json=content)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["data"]["id"]
    _check_readable(api, campaign_id, content)

    # Two updates: what one leaves behind (an emptied list, say) must take the next.
    for update in ("update", "second update"):
        changes = data.draw(_update_bodies(content), label=update)
        updated = api.put(f"/api/v1/campaigns/{campaign_id}", json=changes)
        # A patch is valid or not once merged (an invitation's joinRequest beside a stored
        # memberLimit, say): refused, it is a 409 that changes nothing (a conflict with what
        # the campaign stores); accepted, the merged campaign is what every read shows.
        if updated.status_code == 200:
            content = _updated(content, changes)
        elif not changes:
            # A patch names at least one field (the document's minProperties).
            assert updated.status_code == 400, updated.text
            assert updated.json()["error"]["code"] == "VALIDATION_ERROR"
        else:
            assert updated.status_code == 409, updated.text
            assert updated.json()["error"]["code"] == "CONFLICTS_WITH_CAMPAIGN"
        event(
            "accepted"
            if updated.status_code == 200
            else "refused: " + updated.json()["error"]["message"][:70]
        )
        _check_readable(api, campaign_id, content)


def test_a_campaign_with_filters_and_no_segments_is_readable(api: httpx.Client) -> None:
    # The body of issue 11: stored without its empty segments, it answered 503.
    body = {"name": "x", "type": "message", "targetAudience": {"filters": {"location": ["US"]}}}
    created = api.post("/api/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    detail = api.get(f"/api/v1/campaigns/{created.json()['data']['id']}")
    assert detail.status_code == 200, detail.text
    audience = detail.json()["data"]["targetAudience"]
    assert (audience["segments"], audience["filters"]) == ([], {"location": ["US"]})


def _logged(platform: Platform, service: str, event: str, correlation_id: str) -> dict:
    """The JSON log line of ``service`` with this event and correlation id (waits for it)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in platform[service].log_path.read_text(errors="replace").splitlines():
            if correlation_id in line and event in line:
                entry = json.loads(line)
                if entry.get("event") == event and entry.get("correlation_id") == correlation_id:
                    return entry
        time.sleep(0.1)
    raise AssertionError(f"no {event} logged by {service} for {correlation_id}")


def test_a_read_model_the_projection_cannot_render_is_a_500_logged_with_its_ids(
    platform: Platform, api: httpx.Client
) -> None:
    created = api.post("/api/v1/campaigns", json={"name": "Broken", "type": "message"})
    assert created.status_code == 201, created.text
    campaign_id = created.json()["data"]["id"]
    # A read model its struct cannot decode: what a bug of the kind above leaves behind.
    with psycopg.connect(platform.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE projection.campaigns SET content = content || '{\"messages\": 7}' "
            "WHERE id = %s",
            (campaign_id,),
        )
    try:
        correlation_id = uuid.uuid4().hex
        answer = api.get(
            f"/api/v1/campaigns/{campaign_id}", headers={"X-Correlation-Id": correlation_id}
        )
        assert answer.status_code == 500, answer.text
        assert answer.json()["success"] is False
        assert answer.json()["error"]["code"] == "INTERNAL_ERROR"
        assert answer.headers["X-Correlation-Id"] == correlation_id
        logged = _logged(platform, "projection", "query.failed", correlation_id)
        assert logged["level"] == "error"
        assert logged["query"]["campaignId"] == campaign_id
        assert "ValidationError" in logged["exception"]
    finally:
        with psycopg.connect(platform.database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE projection.campaigns SET content = content - 'messages' WHERE id = %s",
                (campaign_id,),
            )
    assert api.get(f"/api/v1/campaigns/{campaign_id}").status_code == 200


def test_only_a_projection_that_does_not_answer_is_a_503(
    platform: Platform, api: httpx.Client
) -> None:
    created = api.post("/api/v1/campaigns", json={"name": "Waiting", "type": "message"})
    assert created.status_code == 201, created.text
    projection = platform["projection"]
    projection.stop()
    try:
        answer = api.get(f"/api/v1/campaigns/{created.json()['data']['id']}")
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    finally:
        projection.start()
        projection.wait_ready()
    assert api.get(f"/api/v1/campaigns/{created.json()['data']['id']}").status_code == 200
