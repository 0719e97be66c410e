"""Contacts through HTTP: CRUD, filters, search, pagination, opt-out, imports (CSV and JSON
lines) and the dispatcher's "blocked" feedback, against the running services.

Other modules of the session may create contacts too: every assertion on a list narrows it
to this module's contacts with a tag (an interest) of its own.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from collections.abc import Iterator

import httpx
import nats
import pytest
from support import signed

from telecast_devenv.platform import Platform
from telecast_libs.command_signing import DISPATCHER
from telecast_libs.subjects import subjects_for

TAG = f"t{secrets.token_hex(4)}"
BASE = random.randrange(10**12, 10**15)


def _tid(n: int) -> int:
    return BASE + n


def _data(answer: httpx.Response, status: int = 200) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is True
    return body["data"]


def _refused(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False
    assert body["error"]["code"] == code, body
    return body["error"]


def _create(api: httpx.Client, n: int, **fields: object) -> dict:
    body = {"telegramId": _tid(n), "interests": [TAG], **fields}
    return _data(api.post("/api/v1/contacts", json=body), 201)


def _mine(api: httpx.Client, tag: str = TAG, **params: object) -> dict:
    return _data(api.get("/api/v1/contacts", params={"interest": tag, "limit": 100, **params}))


def _import(api: httpx.Client, body: bytes | Iterator[bytes], content_type: str) -> dict:
    return _data(
        api.post("/api/v1/contacts/import", content=body, headers={"Content-Type": content_type})
    )


def test_create_get_update_delete(api: httpx.Client) -> None:
    created = _create(api, 1, firstName="Jane", location="US", attributes={"plan": "gold"})
    assert created["telegramId"] == _tid(1)
    assert created["chatType"] == "private"
    assert created["firstName"] == "Jane"
    assert created["username"] is None and created["age"] is None
    assert created["optedOut"] is False and created["blocked"] is False
    assert created["isTestRecipient"] is False and created["purchaseHistory"] is False
    assert created["attributes"] == {"plan": "gold"}
    assert created["createdAt"].endswith("Z") or created["createdAt"].endswith("+00:00")
    assert _data(api.get(f"/api/v1/contacts/{created['id']}")) == created

    error = _refused(
        api.post("/api/v1/contacts", json={"telegramId": _tid(1)}), 409, "CONTACT_EXISTS"
    )
    assert str(_tid(1)) in error["message"]

    updated = _data(
        api.put(
            f"/api/v1/contacts/{created['id']}",
            json={
                "lastName": "Doe",
                "location": None,
                "age": 41,
                "chatType": "channel",
                "attributes": {"plan": None, "score": 7},
            },
        )
    )
    assert updated["lastName"] == "Doe" and updated["firstName"] == "Jane"
    assert updated["location"] is None and updated["age"] == 41
    assert updated["chatType"] == "channel"
    assert updated["attributes"] == {"score": 7}
    assert updated["updatedAt"] >= created["updatedAt"]
    assert _data(api.get(f"/api/v1/contacts/{created['id']}")) == updated

    other = _create(api, 2)
    _refused(
        api.put(f"/api/v1/contacts/{other['id']}", json={"telegramId": _tid(1)}),
        409,
        "CONTACT_EXISTS",
    )

    deleted = _data(api.delete(f"/api/v1/contacts/{created['id']}"))
    assert deleted == {"message": "Contact deleted successfully"}
    _refused(api.get(f"/api/v1/contacts/{created['id']}"), 404, "CONTACT_NOT_FOUND")
    _refused(api.delete(f"/api/v1/contacts/{created['id']}"), 404, "CONTACT_NOT_FOUND")
    _refused(
        api.put(f"/api/v1/contacts/{created['id']}", json={"age": 1}), 404, "CONTACT_NOT_FOUND"
    )
    _refused(api.get("/api/v1/contacts/not-a-uuid"), 404, "CONTACT_NOT_FOUND")
    # The Telegram id is free again.
    _create(api, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "telegramId"),
        ({"telegramId": "twelve"}, "telegramId"),
        ({"telegramId": 2**63}, "telegramId"),
        ({"telegramId": 5, "age": 151}, "age"),
        ({"telegramId": 5, "location": "us"}, "location"),
        ({"telegramId": 5, "chatType": "bot"}, "chatType"),
        ({"telegramId": 5, "username": "has space"}, "username"),
        ({"telegramId": 5, "firstName": "a\u0000b"}, "firstName"),
        ({"telegramId": 5, "lastPurchase": "2024-06-01T00:00:00"}, "lastPurchase"),
        ({"telegramId": 5, "interests": ["x" * 65]}, "interests"),
        ({"telegramId": 5, "attributes": {"a": {"nested": 1}}}, "attributes"),
        ({"telegramId": 5, "nickname": "x"}, "nickname"),
    ],
)
def test_invalid_contacts_are_refused(api: httpx.Client, body: dict, field: str) -> None:
    error = _refused(api.post("/api/v1/contacts", json=body), 400, "VALIDATION_ERROR")
    assert field in json.dumps(error)


def test_list_filters_search_and_pagination(api: httpx.Client) -> None:
    tag = f"{TAG}l"
    rows = [
        (10, {"firstName": "Maria", "lastName": "Lopez", "location": "ES", "username": "mlopez"}),
        (11, {"firstName": "Mario", "lastName": "Rossi", "location": "IT", "chatType": "group"}),
        (12, {"firstName": "Anna", "location": "ES", "isTestRecipient": True}),
        (13, {"firstName": "Ann-Marie", "location": "FR", "chatType": "channel"}),
        (14, {"firstName": "Bob", "location": "ES", "username": "bob_the_builder"}),
    ]
    made = {n: _create(api, n, interests=[tag, "extra"], **fields) for n, fields in rows}

    page = _mine(api, tag)
    assert page["pagination"] == {"page": 1, "limit": 100, "total": 5, "pages": 1}
    # Newest first.
    assert [c["telegramId"] for c in page["contacts"]] == [_tid(n) for n in (14, 13, 12, 11, 10)]

    def ids(**params: object) -> set[int]:
        return {c["telegramId"] - BASE for c in _mine(api, tag, **params)["contacts"]}

    assert ids(location="ES") == {10, 12, 14}
    assert ids(chatType="group") == {11}
    assert ids(isTestRecipient="true") == {12}
    assert ids(isTestRecipient="false", location="ES") == {10, 14}
    assert ids(search="mari") == {10, 11, 13}
    assert ids(search="MAR lop") == {10}
    assert ids(search="@bob_the") == {14}
    assert ids(search="ann") == {12, 13}
    assert ids(search="%%") == set()
    assert ids(search=str(_tid(11))) == {11}

    pages = [
        _data(api.get("/api/v1/contacts", params={"interest": tag, "limit": 2, "page": p}))
        for p in (1, 2, 3, 4)
    ]
    assert [len(p["contacts"]) for p in pages] == [2, 2, 1, 0]
    assert pages[0]["pagination"] == {"page": 1, "limit": 2, "total": 5, "pages": 3}
    seen = [c["id"] for p in pages for c in p["contacts"]]
    assert sorted(seen) == sorted(c["id"] for c in made.values())

    for params in (
        {"limit": 101},
        {"page": 0},
        {"chatType": "bot"},
        {"location": "Spain"},
        {"optedOut": "maybe"},
    ):
        _refused(api.get("/api/v1/contacts", params=params), 400, "VALIDATION_ERROR")


def test_opt_out_and_in(api: httpx.Client) -> None:
    tag = f"{TAG}o"
    contact = _create(api, 20, interests=[tag])
    _create(api, 21, interests=[tag])
    out = _data(api.post(f"/api/v1/contacts/{contact['id']}/opt-out"))
    assert out["optedOut"] is True
    assert [c["id"] for c in _mine(api, tag, optedOut="true")["contacts"]] == [contact["id"]]
    assert len(_mine(api, tag, optedOut="false")["contacts"]) == 1
    back = _data(api.post(f"/api/v1/contacts/{contact['id']}/opt-in"))
    assert back["optedOut"] is False
    _refused(
        api.post("/api/v1/contacts/00000000-0000-4000-8000-000000000000/opt-out"),
        404,
        "CONTACT_NOT_FOUND",
    )


def test_the_dispatcher_marks_a_contact_blocked(platform: Platform, api: httpx.Client) -> None:
    tag = f"{TAG}b"
    contact = _create(api, 30, interests=[tag])

    async def mark(telegram_id: int, blocked: bool) -> dict:
        nc = await nats.connect(platform.nats_url)
        try:
            reply = await signed.request(
                nc,
                subjects_for(platform.namespace).command("contact.mark_blocked"),
                json.dumps(
                    {
                        "kind": "contact.mark_blocked",
                        "meta": {"actor": {"id": "dispatcher"}, "correlationId": "c1"},
                        "telegramId": telegram_id,
                        "blocked": blocked,
                    }
                ).encode(),
                DISPATCHER,
            )
        finally:
            await nc.close()
        return json.loads(reply.data)

    reply = asyncio.run(mark(_tid(30), True))
    assert reply["ok"] is True and reply["data"]["blocked"] is True
    assert [c["id"] for c in _mine(api, tag, blocked="true")["contacts"]] == [contact["id"]]
    assert asyncio.run(mark(_tid(30), False))["data"]["blocked"] is False
    unknown = asyncio.run(mark(_tid(39), True))
    assert unknown["ok"] is False and unknown["error"]["code"] == "CONTACT_NOT_FOUND"


def test_csv_import_reports_bad_rows_and_lands_the_good_ones(api: httpx.Client) -> None:
    tag = f"{TAG}c"
    csv = (
        "telegramId,firstName,location,age,interests,attributes.plan,optedOut\n"
        f"{_tid(40)},Ann,US,30,{tag};news,gold,\n"  # line 2
        f"{_tid(41)},Bob,us,30,{tag},,\n"  # line 3: lowercase country
        f'{_tid(42)},"Doe, Carl",DE,,{tag},,true\n'  # line 4
        f",Nobody,DE,,{tag},,\n"  # line 5: no telegramId
        f"{_tid(43)},Dan,FR,old,{tag},,\n"  # line 6: bad age
        f"{_tid(44)},Eve,GB,22,{tag},free,\n"  # line 7
        f"{_tid(40)},Ann,US,31,{tag};news,,\n"  # line 8: same contact as line 2
    )
    report = _import(api, csv.encode(), "text/csv")
    assert report["created"] == 3
    assert report["updated"] == 1
    assert report["rejected"] == 3
    assert report["errorsTruncated"] is False
    assert [(e["row"], e.get("field")) for e in report["errors"]] == [
        (3, "location"),
        (5, "telegramId"),
        (6, "age"),
    ]
    landed = {c["telegramId"] - BASE: c for c in _mine(api, tag)["contacts"]}
    assert sorted(landed) == [40, 42, 44]
    assert landed[40]["age"] == 31 and landed[40]["interests"] == [tag, "news"]
    assert landed[40]["attributes"] == {"plan": "gold"}
    assert landed[42]["firstName"] == "Doe, Carl" and landed[42]["optedOut"] is True

    # Again, changed: every contact is updated, none duplicated; absent values are kept and
    # an import never opts a contact back in.
    again = (
        "telegramId,firstName,location,age,interests,optedOut\n"
        f"{_tid(40)},Ann,,32,,\n"
        f"{_tid(42)},Carl,,,,false\n"
        f"{_tid(44)},Eve,GB,22,{tag},\n"
    )
    report = _import(api, again.encode(), "text/csv; charset=utf-8")
    assert (report["created"], report["updated"], report["rejected"]) == (0, 3, 0)
    landed = {c["telegramId"] - BASE: c for c in _mine(api, tag)["contacts"]}
    assert sorted(landed) == [40, 42, 44]
    assert landed[40]["age"] == 32 and landed[40]["location"] == "US"
    assert landed[40]["interests"] == [tag, "news"]
    assert landed[40]["attributes"] == {"plan": "gold"}
    assert landed[42]["firstName"] == "Carl" and landed[42]["optedOut"] is True


def test_json_lines_import(api: httpx.Client) -> None:
    tag = f"{TAG}j"
    lines = [
        {"telegramId": _tid(50), "firstName": "Zoe", "interests": [tag], "age": 28},
        {"telegramId": _tid(51), "chatType": "supergroup", "interests": [tag]},
        {"telegramId": _tid(52), "interests": [tag], "age": "28"},
        {"telegramId": _tid(53), "interests": [tag], "lastPurchase": "2024-06-01T10:00:00+02:00"},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\n{broken\n\n"
    report = _import(api, body.encode(), "application/x-ndjson")
    assert (report["created"], report["updated"], report["rejected"]) == (3, 0, 2)
    assert [(e["row"], e.get("field")) for e in report["errors"]] == [(3, "age"), (5, None)]
    landed = {c["telegramId"] - BASE: c for c in _mine(api, tag)["contacts"]}
    assert sorted(landed) == [50, 51, 53]
    assert landed[51]["chatType"] == "supergroup"
    assert landed[53]["lastPurchase"].startswith("2024-06-01T08:00:00")


def test_a_streamed_import_over_the_ordinary_body_limit(api: httpx.Client) -> None:
    tag = f"{TAG}s"
    count = 12_000  # about 1.3 MB: over the gateway's 1 MiB limit for other requests
    padding = "x" * 60

    def body() -> Iterator[bytes]:
        yield b"telegramId,interests,attributes.note\n"
        for start in range(0, count, 1000):
            yield "".join(
                f"{_tid(100_000 + n)},{tag},{padding}\n" for n in range(start, start + 1000)
            ).encode()

    report = _import(api, body(), "text/csv")
    assert (report["created"], report["updated"], report["rejected"]) == (count, 0, 0)
    assert _mine(api, tag, limit=1)["pagination"]["total"] == count


def test_import_refusals(api: httpx.Client) -> None:
    url = "/api/v1/contacts/import"
    refused = _refused(
        api.post(url, content=b'{"telegramId": 1}', headers={"Content-Type": "application/json"}),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    assert "text/csv" in refused["message"]
    empty = api.post(url, content=b"", headers={"Content-Type": "text/csv"})
    _refused(empty, 400, "VALIDATION_ERROR")
    _refused(
        api.post(url, content=b"\n\n", headers={"Content-Type": "application/x-ndjson"}),
        400,
        "VALIDATION_ERROR",
    )
    error = _refused(
        api.post(url, content=b"telegramId,nick\n1,a\n", headers={"Content-Type": "text/csv"}),
        400,
        "VALIDATION_ERROR",
    )
    assert "nick" in error["message"]
    header_only = _import(api, b"telegramId,firstName\n", "text/csv")
    assert header_only == {
        "created": 0,
        "updated": 0,
        "rejected": 0,
        "errors": [],
        "errorsTruncated": False,
    }


def test_only_admins_and_managers_write_contacts(platform: Platform, api: httpx.Client) -> None:
    email = f"viewer-{secrets.token_hex(4)}@example.com"
    _data(
        api.post(
            "/api/v1/users",
            json={"email": email, "password": "viewer-pass", "name": "V", "role": "viewer"},
        ),
        201,
    )
    token = _data(
        httpx.post(
            f"{platform.base_url}/api/v1/auth/login",
            json={"email": email, "password": "viewer-pass"},
        )
    )["accessToken"]
    with httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=15
    ) as viewer:
        assert viewer.get("/api/v1/contacts").status_code == 200
        _refused(viewer.post("/api/v1/contacts", json={"telegramId": _tid(60)}), 403, "FORBIDDEN")
        _refused(
            viewer.post(
                "/api/v1/contacts/import",
                content=f"telegramId\n{_tid(60)}\n".encode(),
                headers={"Content-Type": "text/csv"},
            ),
            403,
            "FORBIDDEN",
        )
