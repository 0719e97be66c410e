"""Templates, rendering and campaign previews through HTTP, on the real platform."""

from __future__ import annotations

import random
import uuid

import httpx
import pytest
from support.inspect import stream_messages

from telecast_devenv.platform import Platform
from telecast_libs.content.variations import choose

TEMPLATES = "/api/v1/templates"
WELCOME = {
    "name": "Welcome back",
    "content": "<b>Hi {{firstName|there}}</b>, last order {{lastPurchase|never}}. "
    "Code: <code>{{attributes.coupon|SUMMER30}}</code>",
    "buttons": [[{"text": "Shop now", "url": "https://shop.example.com/summer"}]],
    "media": {"type": "photo", "url": "https://cdn.example.com/summer.jpg"},
}


def _created(api: httpx.Client, **fields: object) -> str:
    answer = api.post(TEMPLATES, json={**WELCOME, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def _refused(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


def test_create_get_list_update_delete(platform: Platform, api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    created = api.post(TEMPLATES, json={**WELCOME, "name": f"Welcome {tag}"})
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    body = created.json()["data"]
    tid = body["id"]
    assert body == {
        "id": tid,
        "name": f"Welcome {tag}",
        "version": 1,
        "message": "Template created successfully",
    }

    got = api.get(f"{TEMPLATES}/{tid}")
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    view = got.json()["data"]
    assert view["parseMode"] == "html"
    assert view["buttons"] == WELCOME["buttons"] and view["media"] == WELCOME["media"]
    assert view["placeholders"] == ["firstName", "lastPurchase", "attributes.coupon"]
    assert view["createdBy"]

    listed = api.get(TEMPLATES, params={"search": f"welcome {tag}"}).json()["data"]
    assert [t["id"] for t in listed["templates"]] == [tid]
    assert listed["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1}

    stale = api.put(f"{TEMPLATES}/{tid}", json={"name": "x"}, headers={"If-Match": '"7"'})
    assert _refused(stale, 412, "PRECONDITION_FAILED")["details"] == {"currentVersion": 1}
    updated = api.put(
        f"{TEMPLATES}/{tid}",
        json={"content": "<i>Hello {{firstName|you}}</i>", "media": None},
        headers={"If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    assert updated.headers["ETag"] == '"2"'
    view = api.get(f"{TEMPLATES}/{tid}").json()["data"]
    assert view["content"] == "<i>Hello {{firstName|you}}</i>"
    assert "media" not in view and view["name"] == f"Welcome {tag}"

    assert api.delete(f"{TEMPLATES}/{tid}").json()["data"] == {
        "message": "Template deleted successfully"
    }
    _refused(api.get(f"{TEMPLATES}/{tid}"), 404, "NOT_FOUND")
    _refused(api.put(f"{TEMPLATES}/{tid}", json={"name": "back"}), 404, "NOT_FOUND")
    _refused(api.get(f"{TEMPLATES}/not-a-template"), 404, "NOT_FOUND")
    assert api.get(TEMPLATES, params={"search": f"welcome {tag}"}).json()["data"]["templates"] == []


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"content": "Hi {{fistName}}!"}, "content", "did you mean {{firstName}}?"),
        ({"content": "Hi {{firstName"}, "content", "'{{' is not closed by '}}' (line 1"),
        ({"content": "<b>Hi</i>"}, "content", "</i> closes a tag that was never opened"),
        ({"content": "Sale!", "parseMode": "markdown"}, "content", "'!' is reserved"),
        (
            {"content": "x" * 1000 + " {{firstName}}"},
            "content",
            "over Telegram's limit of 1,024 for a caption",
        ),
        (
            {"buttons": [[{"text": "Go", "url": "ftp://example.com"}]]},
            "buttons[0][0].url",
            "",
        ),
        ({"media": {"type": "photo"}}, "media", "exactly one of url or fileId"),
        ({"parseMode": "markdownv1"}, "parseMode", ""),
    ],
)
def test_a_template_that_cannot_be_sent_is_refused_with_a_clear_error(
    api: httpx.Client, fields: dict, field: str, says: str
) -> None:
    error = _refused(api.post(TEMPLATES, json={**WELCOME, **fields}), 400, "VALIDATION_ERROR")
    assert error["details"][0]["field"].removeprefix("body.") == field, error
    assert says in error["message"], error


def test_the_length_error_names_the_limit_and_the_worst_case(api: httpx.Client) -> None:
    body = {"name": "Long", "content": "x" * 4000 + " {{firstName}} {{lastName}}"}
    error = _refused(api.post(TEMPLATES, json=body), 400, "VALIDATION_ERROR")
    [detail] = error["details"]
    assert (detail["field"], detail["limit"], detail["worstCase"]) == ("content", 4096, 4130)
    assert "4,130" in error["message"] and "4,096" in error["message"]


def test_render_for_inline_fields_and_for_a_contact(api: httpx.Client) -> None:
    tid = _created(api)
    inline = api.post(
        f"{TEMPLATES}/{tid}/render",
        json={"contact": {"firstName": "<Jane>", "attributes": {"coupon": "J&30"}}},
    )
    assert inline.status_code == 200, inline.text
    assert inline.json()["data"] == {
        "text": "<b>Hi &lt;Jane&gt;</b>, last order never. Code: <code>J&amp;30</code>",
        "parseMode": "html",
        "buttons": WELCOME["buttons"],
        "media": WELCOME["media"],
    }

    contact = api.post(
        "/api/v1/contacts",
        json={
            "telegramId": random.randint(10**9, 2 * 10**9),
            "firstName": "Ann",
            "lastPurchase": "2024-06-01T23:30:00-02:00",
        },
    )
    assert contact.status_code in (200, 201), contact.text
    contact_id = contact.json()["data"]["id"]
    for_contact = api.post(f"{TEMPLATES}/{tid}/render", json={"contactId": contact_id})
    assert for_contact.status_code == 200, for_contact.text
    assert for_contact.json()["data"]["text"] == (
        "<b>Hi Ann</b>, last order 2024-06-02. Code: <code>SUMMER30</code>"
    )

    _refused(
        api.post(f"{TEMPLATES}/{tid}/render", json={"contactId": str(uuid.uuid4())}),
        404,
        "CONTACT_NOT_FOUND",
    )
    _refused(api.post(f"{TEMPLATES}/{tid}/render", json={}), 400, "VALIDATION_ERROR")
    _refused(api.post(f"{TEMPLATES}/{uuid.uuid4()}/render", json={"contact": {}}), 404, "NOT_FOUND")


def _campaign(api: httpx.Client, *messages: dict) -> str:
    answer = api.post(
        "/api/v1/campaigns", json={"name": "Preview", "type": "message", "messages": list(messages)}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def test_preview_shows_each_contact_its_variation(api: httpx.Client) -> None:
    tid = _created(api, content="<b>Hi {{firstName|there}}</b>", media=None)
    variation = {"id": "var1", "content": "<i>Hot deals, {{firstName}}!</i>", "weight": 50}
    cid = _campaign(
        api,
        {"templateId": tid, "variations": [variation]},
        {"content": "P.S. {{firstName|friend}} & <you>"},
    )
    resolved = {"variations": [variation]}
    seen = {}
    for n in range(24):
        contact = {"id": f"preview-{n}", "firstName": "Jo"}
        answer = api.post(f"/api/v1/campaigns/{cid}/preview", json={"contact": contact})
        assert answer.status_code == 200, answer.text
        preview = answer.json()["data"]
        assert preview["campaignId"] == cid and preview["contactId"] == f"preview-{n}"
        first, second = preview["messages"]
        # The gateway draws exactly as the shared function does (and the sender will).
        assert first.get("variationId") == choose(cid, f"preview-{n}", resolved)
        assert first["parseMode"] == "html" and first["messageId"] == "msg1"
        seen[first.get("variationId")] = first["text"]
        # Inline content without a template is plain text: nothing is escaped.
        assert second == {"messageId": "msg2", "text": "P.S. Jo & <you>"}
    assert seen == {None: "<b>Hi Jo</b>", "var1": "<i>Hot deals, Jo!</i>"}


def test_preview_refuses_what_execute_would(api: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    cid = _campaign(api, {"templateId": missing})
    error = _refused(
        api.post(f"/api/v1/campaigns/{cid}/preview", json={"contact": {"firstName": "A"}}),
        409,
        "TEMPLATE_NOT_FOUND",
    )
    assert error["details"]["field"] == "messages[0].templateId"
    markdown = _created(
        api, content="*Hi* {{firstName|there}}\\!", parseMode="markdown", media=None
    )
    bad = _campaign(
        api, {"templateId": markdown, "variations": [{"content": "Deals!", "weight": 10}]}
    )
    error = _refused(
        api.post(f"/api/v1/campaigns/{bad}/preview", json={"contact": {}}), 400, "VALIDATION_ERROR"
    )
    assert error["details"][0]["field"] == "messages[0].variations[0].content"
    _refused(
        api.post(f"/api/v1/campaigns/{uuid.uuid4()}/preview", json={"contact": {}}),
        404,
        "CAMPAIGN_NOT_FOUND",
    )


def test_inline_content_with_an_unknown_placeholder_is_refused_at_save(api: httpx.Client) -> None:
    answer = api.post(
        "/api/v1/campaigns",
        json={"name": "Typo", "type": "message", "messages": [{"content": "Hi {{fristName}}"}]},
    )
    error = _refused(answer, 400, "VALIDATION_ERROR")
    assert error["details"][0]["field"] == "messages[0].content"
    assert "did you mean {{firstName}}?" in error["message"]


def test_execute_refuses_a_missing_template(platform: Platform, api: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    cid = _campaign(api, {"templateId": missing})
    error = _refused(api.post(f"/api/v1/campaigns/{cid}/execute"), 409, "TEMPLATE_NOT_FOUND")
    assert error["details"] == {
        "field": "messages[0].templateId",
        "templateId": missing,
        "reason": "missing",
    }
    assert api.get(f"/api/v1/campaigns/{cid}").json()["data"]["status"] == "draft"


def test_an_execution_records_the_content_it_sends(platform: Platform, api: httpx.Client) -> None:
    tid = _created(api, content="<b>Version one, {{firstName|there}}</b>", media=None)
    cid = _campaign(
        api, {"templateId": tid, "variations": [{"content": "<i>B side</i>", "weight": 25}]}
    )
    assert api.post(f"/api/v1/campaigns/{cid}/execute").status_code == 200
    edited = api.put(f"{TEMPLATES}/{tid}", json={"content": "<b>Version two</b>"})
    assert edited.status_code == 200, edited.text
    api.delete(f"{TEMPLATES}/{tid}")
    [started] = [
        envelope
        for envelope, _ in stream_messages(platform.nats_url, platform.namespace)
        if envelope["aggregateId"] == cid and envelope["type"] == "campaign.started"
    ]
    assert started["data"]["messages"] == [
        {
            "id": "msg1",
            "templateId": tid,
            "templateVersion": 1,
            "parseMode": "html",
            "buttons": WELCOME["buttons"],
            "content": "<b>Version one, {{firstName|there}}</b>",
            "variations": [{"id": "var1", "weight": 25, "content": "<i>B side</i>"}],
        }
    ]
