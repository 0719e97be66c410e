"""The OpenAPI description is complete and true.

First the document itself: every operation has a summary, a documented success answer and
its error answers in the envelope, the campaign operations carry examples, and every example
matches its schema. Then schemathesis drives the running platform from the same document:
no 5xx, and every answer's status code, content type and body are the ones documented.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from litestar.serialization import encode_json
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from telecast_devenv.platform import Platform
from telecast_gateway.app import create_app
from telecast_gateway.settings import GatewaySettings
from telecast_libs.settings import load_settings

METHODS = ("get", "put", "post", "delete", "patch")
# Anyone may call these (security: []); every other operation needs the Bearer token.
PUBLIC = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/r/{token}"),
}
# Answered with a redirect to the link's URL (Location), not JSON.
REDIRECTS = {("get", "/r/{token}")}
CAMPAIGNS = "/api/v1/campaigns"
# Answered with Server-Sent Events (text/event-stream), not JSON; an open stream lasts
# until its campaign ends, so schemathesis leaves it to tests/e2e/test_progress_stream.py.
STREAMS = {("get", f"{CAMPAIGNS}/{{campaign_id}}/progress/stream")}


def _document() -> dict[str, Any]:
    """The OpenAPI document the gateway serves at /schema/openapi.json, built in-process.

    schemathesis's fixture-based loader (``schemathesis.pytest.from_fixture``) does not work
    with pytest 9 (it sets ``Node._nodeid``, which pytest 9 removed), and a schema for
    ``@schema.parametrize`` must exist when the module is collected, before the platform
    runs. ``test_the_served_document_is_the_one_tested`` proves both are the same.
    """
    settings = load_settings(
        GatewaySettings,
        {"DATABASE_URL": "postgresql://openapi@localhost/x", "TELECAST_ENV": "development"},
    )
    return json.loads(encode_json(create_app(settings).openapi_schema.to_schema()))


DOCUMENT = _document()

CONFIG = schemathesis.Config.from_dict(
    {
        # Reproducible: the same cases on every run.
        "seed": 20241124,
        "generation": {
            "max-examples": 25,
            "deterministic": True,
            # No .hypothesis/ folder in the work tree.
            "database": "none",
        },
        # Examples, coverage (boundary values, missing and unexpected parts) and fuzzing.
        # The stateful phase needs OpenAPI links, which Litestar does not generate.
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
        },
    }
)

# Every operation but the streams is driven. /metrics (Prometheus text) and /schema are not
# in the document.
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).exclude(
    path_regex=r"/progress/stream$"
)
# The contacts import takes JSON lines, a string in the document: sent as it is, like text.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


_REGISTRY = Registry().with_resource(
    "urn:openapi", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)


def _validator(media_schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``media_schema``, whose $refs point into the document's components."""
    rebased = json.loads(
        json.dumps(media_schema).replace('"#/components/', '"urn:openapi#/components/')
    )
    return Draft202012Validator(rebased, registry=_REGISTRY)


def test_the_served_document_is_the_one_tested(api: httpx.Client) -> None:
    served = api.get("/schema/openapi.json")
    assert served.status_code == 200
    assert served.json() == DOCUMENT


def test_every_operation_is_documented() -> None:
    problems = []
    for path, method, operation in _operations():
        name = f"{method.upper()} {path}"
        responses = operation.get("responses", {})
        if not operation.get("summary"):
            problems.append(f"{name}: no summary")
        media_type = "text/event-stream" if (method, path) in STREAMS else "application/json"
        successes = [
            status
            for status, response in responses.items()
            if status.startswith("2")
            and response.get("content", {}).get(media_type, {}).get("schema")
        ]
        if not successes and not ((method, path) in REDIRECTS and "302" in responses):
            problems.append(f"{name}: no 2xx answer with a JSON schema")
        errors = {status: r for status, r in responses.items() if status[0] in "45"}
        takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
        needs_token = (method, path) not in PUBLIC
        if takes_input and "400" not in errors:
            problems.append(f"{name}: takes input but documents no 400")
        if needs_token and "401" not in errors:
            problems.append(f"{name}: needs a token but documents no 401")
        for status, response in errors.items():
            media = response.get("content", {}).get("application/json", {})
            if media.get("schema") != {"$ref": "#/components/schemas/ErrorEnvelope"}:
                problems.append(f"{name}: {status} is not the error envelope")
            if not response.get("description"):
                problems.append(f"{name}: {status} has no description")
    assert not problems, "\n".join(problems)


def test_bearer_scheme_is_declared_once_and_required_except_on_public_operations() -> None:
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert len(schemes) == 1
    [(name, scheme)] = schemes.items()
    assert scheme["type"] == "http"
    assert scheme["scheme"].lower() == "bearer"
    assert DOCUMENT["security"] == [{name: []}]
    for path, method, operation in _operations():
        if (method, path) in PUBLIC:
            assert operation.get("security") == [], f"{method} {path} should be public"
        else:
            assert "security" not in operation, f"{method} {path} overrides the Bearer token"


def test_campaign_operations_have_examples_that_match_their_schemas() -> None:
    checked = 0
    for path, method, operation in _operations():
        if not path.startswith(CAMPAIGNS):
            continue
        name = f"{method.upper()} {path}"
        media_types = []
        if "requestBody" in operation:
            media_types.append(("request body", operation["requestBody"]["content"]))
        for status, response in operation["responses"].items():
            media_types.append((status, response["content"]))
        for where, content in media_types:
            if (method, path) in STREAMS and where.startswith("2"):
                assert content["text/event-stream"].get("examples"), f"{name}: no example"
                continue
            media = content["application/json"]
            examples = media.get("examples")
            assert examples, f"{name}: {where} has no examples"
            validator = _validator(media["schema"])
            for key, example in examples.items():
                errors = [e.message for e in validator.iter_errors(example["value"])]
                assert not errors, f"{name}: {where} example {key!r}: {errors}"
                if where[0] in "45":
                    assert example["value"]["error"]["code"] == key
                checked += 1
    assert checked > 50


def test_optional_bodies_are_not_required() -> None:
    for path in (f"{CAMPAIGNS}/{{campaign_id}}/execute", f"{CAMPAIGNS}/{{campaign_id}}/clone"):
        assert DOCUMENT["paths"][path]["post"]["requestBody"]["required"] is False
    assert DOCUMENT["paths"][CAMPAIGNS]["post"]["requestBody"]["required"] is True


@pytest.fixture
def campaigns(api: httpx.Client) -> list[str]:
    """Campaigns in each status, made afresh for each operation on a campaign, for the
    generated requests to act on: random ids alone would only ever meet 404."""

    def create(name: str) -> str:
        answer = api.post(CAMPAIGNS, json={"name": name, "type": "message"})
        assert answer.status_code == 201, answer.text
        return answer.json()["data"]["id"]

    def act(campaign_id: str, action: str, body: dict | None = None) -> None:
        answer = api.post(f"{CAMPAIGNS}/{campaign_id}/{action}", json=body)
        assert answer.status_code == 200, answer.text

    def put(campaign_id: str, changes: dict) -> None:
        answer = api.put(f"{CAMPAIGNS}/{campaign_id}", json=changes)
        assert answer.status_code == 200, answer.text

    statuses = ("draft", "scheduled", "active", "paused", "completed", "cancelled")
    made = {status: create(f"OpenAPI {status}") for status in statuses}
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    act(made["scheduled"], "execute", {"scheduledAt": later})
    for status in ("active", "paused", "completed"):
        act(made[status], "execute")
    act(made["paused"], "pause")
    put(made["completed"], {"status": "completed"})
    put(made["cancelled"], {"status": "cancelled"})
    return list(made.values())


_requests = itertools.count()


def _aim(case: schemathesis.Case, request: pytest.FixtureRequest) -> None:
    """Point a generated request at the real campaigns, in turn, and let most of them past
    the version and idempotency checks: generated If-Match values are never a current
    version, and generated Idempotency-Keys are short ("0", "00"…) and meet each other, so
    nearly every request would be refused before reaching its handler."""
    n = next(_requests)
    path = case.path_parameters or {}
    campaign_id = path.get("campaign_id")
    # A valid id (the only constraint is the length): a real campaign, or left as generated.
    if isinstance(campaign_id, str) and len(campaign_id) <= 100:
        campaigns: list[str] = request.getfixturevalue("campaigns")
        if n % (len(campaigns) + 1):
            real = campaigns[n % (len(campaigns) + 1) - 1]
            case.path_parameters = {**path, "campaign_id": real}
    headers = dict(case.headers or {})
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and key.isascii() and key.isprintable() and len(key) <= 255 and n % 4:
        headers["Idempotency-Key"] = f"{key[:240]}-{n}"
    if isinstance(headers.get("If-Match"), str) and n % 2:
        headers["If-Match"] = "*"
    if headers != (case.headers or {}):
        case.headers = headers


@schema.parametrize()
# `campaigns` is made once per operation on purpose, not once per generated request.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_answers_as_documented(
    case: schemathesis.Case, platform: Platform, api: httpx.Client, request: pytest.FixtureRequest
) -> None:
    _aim(case, request)
    case.call_and_validate(
        base_url=platform.base_url,
        headers={"Authorization": api.headers["Authorization"]},
        timeout=15,
    )
