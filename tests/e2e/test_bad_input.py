"""Bad input gets a clear 4xx in the error envelope and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from support.inspect import count_all_stored_events

from telecast_devenv.platform import Platform

VALID = {"name": "Valid", "type": "message"}
HOUR = timedelta(hours=1)


def _refused(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in answer.text
    return body["error"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"name": "x", "type": "message"', None),  # malformed JSON
        (b"[1, 2, 3]", None),  # not an object
        (b'{"type": "message"}', "name"),  # missing required field
        (b'{"name": "", "type": "message"}', "name"),  # too short
        (b'{"name": "x", "type": "sms"}', "type"),  # unknown enum value
        (b'{"name": 42, "type": "message"}', "name"),  # wrong type
        (b'{"name": "x", "type": "message", "budget": -1}', "budget"),
        (b'{"name": "x", "type": "message", "bogus": 1}', None),  # unknown field
        (b'{"name": "x", "type": "message", "startDate": "tomorrow"}', "startDate"),
        (
            b'{"name": "x", "type": "message", "startDate": "2024-02-01T00:00:00Z",'
            b' "endDate": "2024-01-01T00:00:00Z"}',
            "endDate",
        ),
        (
            b'{"name": "x", "type": "message", "goals": {"conversionRate": 150}}',
            "goals.conversionRate",
        ),
        # The wrong JSON type, which a lenient decode used to turn into a value.
        (b'{"name": "x", "type": "message", "budget": "100"}', "budget"),
        (b'{"name": "x", "type": "message", "startDate": 0}', "startDate"),
        (b'{"name": "x", "type": "message", "goals": {"revenue": "5"}}', "goals.revenue"),
        (
            b'{"name": "x", "type": "message", "messages": [{"content": "a",'
            b' "variations": [{"content": "b", "weight": 70}, {"content": "c", "weight": 40}]}]}',
            "messages[0].variations",
        ),
    ],
)
def test_invalid_campaign_bodies_are_refused_and_store_nothing(
    platform: Platform, api: httpx.Client, raw: bytes, field: str | None
) -> None:
    before = count_all_stored_events(platform.database_url)
    answer = api.post(
        "/api/v1/campaigns", content=raw, headers={"Content-Type": "application/json"}
    )
    error = _refused(answer, 400, "VALIDATION_ERROR")
    if field is not None:
        assert field in error["message"] or any(
            field == d.get("field") for d in error.get("details") or []
        ), error
    assert count_all_stored_events(platform.database_url) == before


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "101"},
        {"limit": "0"},
        {"page": "0"},
        {"page": "first"},
        {"status": "running"},
        {"type": "sms"},
        {"sort": "password"},
        {"sort": "--name"},
        {"sort": "+name"},
        {"search": "x" * 201},
    ],
)
def test_invalid_list_parameters_are_refused(api: httpx.Client, params: dict) -> None:
    _refused(api.get("/api/v1/campaigns", params=params), 400, "VALIDATION_ERROR")


def test_a_body_over_the_limit_is_refused(api: httpx.Client) -> None:
    huge = b'{"name": "x", "type": "message", "description": "' + b"a" * 2_000_000 + b'"}'
    answer = api.post(
        "/api/v1/campaigns", content=huge, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code in (400, 413)
    assert answer.json()["success"] is False


def test_unknown_campaign_and_bad_if_match(api: httpx.Client) -> None:
    _refused(api.get("/api/v1/campaigns/not-a-campaign"), 404, "CAMPAIGN_NOT_FOUND")
    missing = "00000000-0000-0000-0000-000000000000"
    _refused(api.put(f"/api/v1/campaigns/{missing}", json={"name": "x"}), 404, "CAMPAIGN_NOT_FOUND")
    created = api.post("/api/v1/campaigns", json=VALID).json()["data"]["id"]
    for malformed in ("abc", "null", "", '"1'):
        _refused(
            api.put(
                f"/api/v1/campaigns/{created}", json={"name": "x"}, headers={"If-Match": malformed}
            ),
            400,
            "VALIDATION_ERROR",
        )
    _refused(
        api.put(f"/api/v1/campaigns/{created}", json={"name": "x"}, headers={"If-Match": '"9"'}),
        412,
        "PRECONDITION_FAILED",
    )
    _refused(api.put(f"/api/v1/campaigns/{created}", json={}), 400, "VALIDATION_ERROR")
    _refused(api.get("/api/v1/nothing-here"), 404, "NOT_FOUND")


def _token(secret: str, expires: datetime) -> str:
    claims = {"sub": "someone", "exp": int(expires.timestamp()), "iat": 0, "role": "admin"}
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer not-a-token",
        "Basic YWRtaW46dGVsZWNhc3Q=",
        "Bearer " + _token("a-secret-that-is-not-the-gateways-own", datetime.now(UTC) + HOUR),
    ],
)
def test_missing_or_bad_tokens_are_refused(platform: Platform, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    before = count_all_stored_events(platform.database_url)
    for method, path in [("GET", "/api/v1/campaigns"), ("POST", "/api/v1/campaigns")]:
        answer = httpx.request(method, f"{platform.base_url}{path}", headers=headers, json=VALID)
        _refused(answer, 401, "UNAUTHORIZED")
    assert count_all_stored_events(platform.database_url) == before


def test_an_expired_token_is_refused(platform: Platform) -> None:
    from telecast_gateway.settings import DEV_JWT_SECRET

    expired = _token(DEV_JWT_SECRET, datetime.now(UTC) - timedelta(minutes=5))
    answer = httpx.get(
        f"{platform.base_url}/api/v1/campaigns", headers={"Authorization": f"Bearer {expired}"}
    )
    _refused(answer, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "admin@telecast.local", "password": "wrong"},
        {"email": "nobody@telecast.local", "password": "telecast"},
        {"email": "not-an-email", "password": "telecast"},
        {"email": "admin@telecast.local"},
    ],
)
def test_bad_logins_are_refused(platform: Platform, body: dict) -> None:
    answer = httpx.post(f"{platform.base_url}/api/v1/auth/login", json=body)
    assert answer.status_code in (400, 401)
    assert answer.json()["success"] is False
    assert "accessToken" not in answer.text


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/campaigns", "GET, OPTIONS, POST"),
        ("/api/v1/campaigns/any", "DELETE, GET, OPTIONS, PUT"),
        ("/api/v1/users", "GET, OPTIONS, POST"),
        ("/api/v1/templates/any", "DELETE, GET, OPTIONS, PUT"),
    ],
)
def test_options_names_every_method_of_the_path(api: httpx.Client, path: str, methods: str) -> None:
    answer = api.options(path)
    assert answer.status_code == 204
    assert answer.headers["allow"] == methods


def test_a_whole_number_written_with_a_fraction_is_an_integer(api: httpx.Client) -> None:
    # JSON Schema's integer, as the OpenAPI document types it.
    answer = api.post(
        "/api/v1/campaigns",
        json={"name": "Whole", "type": "invitation", "invitation": {"chatId": -1001234567890.0}},
    )
    assert answer.status_code == 201, answer.text


def test_a_date_time_given_as_a_number_is_refused_when_rendering(api: httpx.Client) -> None:
    template = api.post("/api/v1/templates", json={"name": "t", "content": "Hi {{firstName}}"})
    assert template.status_code == 201, template.text
    answer = api.post(
        f"/api/v1/templates/{template.json()['data']['id']}/render",
        json={"contact": {"firstName": "Jane", "lastPurchase": 0}},
    )
    error = _refused(answer, 400, "VALIDATION_ERROR")
    assert error["details"][0]["field"] == "contact.lastPurchase"


def test_an_error_echoes_no_control_character_of_the_request(api: httpx.Client) -> None:
    """A refusal that names what was sent (here an unknown field called NUL) writes control
    characters as escapes: none reaches a client's terminal or log raw, and the message is
    the text the document declares (which allows no NUL)."""
    answer = api.post(
        "/api/v1/campaigns",
        content=b'{"name": "x", "type": "message", "\\u0000\\u001b[31m": 1}',
        headers={"Content-Type": "application/json"},
    )
    error = _refused(answer, 400, "VALIDATION_ERROR")
    assert "\\u0000\\u001b[31m" in error["message"]
    assert not any(ord(c) < 0x20 for c in answer.json()["error"]["message"])
    assert not any(ord(c) < 0x20 for c in str(error["details"]))
