"""Who may call what: a 401/403 matrix over every endpoint of the live OpenAPI document.

``MINIMUM_ROLE`` says, for each endpoint, the least role that may call it. An endpoint in
the OpenAPI document but not in the table fails ``test_every_endpoint_has_a_row``: whoever
adds an endpoint adds its row here. A row whose endpoint does not exist (yet) is skipped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from telecast_devenv.platform import Platform

PUBLIC, VIEWER, MANAGER, ADMIN = "public", "viewer", "manager", "admin"
ROLES = (VIEWER, MANAGER, ADMIN)
RANK = {VIEWER: 0, MANAGER: 1, ADMIN: 2}

# (method, path with every parameter written {id}) -> the least role allowed.
MINIMUM_ROLE: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/refresh"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): VIEWER,
    ("GET", "/api/v1/auth/me"): VIEWER,
    ("POST", "/api/v1/auth/password"): VIEWER,
    ("GET", "/api/v1/campaigns"): VIEWER,
    ("POST", "/api/v1/campaigns"): MANAGER,
    ("GET", "/api/v1/campaigns/{id}"): VIEWER,
    ("PUT", "/api/v1/campaigns/{id}"): MANAGER,
    ("DELETE", "/api/v1/campaigns/{id}"): MANAGER,
    ("POST", "/api/v1/campaigns/{id}/execute"): MANAGER,
    ("POST", "/api/v1/campaigns/{id}/pause"): MANAGER,
    ("POST", "/api/v1/campaigns/{id}/resume"): MANAGER,
    ("POST", "/api/v1/campaigns/{id}/clone"): MANAGER,
    ("POST", "/api/v1/campaigns/{id}/conversions"): MANAGER,
    ("GET", "/api/v1/campaigns/{id}/statistics"): VIEWER,
    ("GET", "/api/v1/campaigns/{id}/progress"): VIEWER,
    ("GET", "/api/v1/campaigns/{id}/progress/stream"): VIEWER,
    ("POST", "/api/v1/campaigns/{id}/preview"): VIEWER,
    ("GET", "/api/v1/templates"): VIEWER,
    ("POST", "/api/v1/templates"): MANAGER,
    ("GET", "/api/v1/templates/{id}"): VIEWER,
    ("PUT", "/api/v1/templates/{id}"): MANAGER,
    ("DELETE", "/api/v1/templates/{id}"): MANAGER,
    ("POST", "/api/v1/templates/{id}/render"): VIEWER,
    ("GET", "/api/v1/contacts"): VIEWER,
    ("POST", "/api/v1/contacts"): MANAGER,
    ("GET", "/api/v1/contacts/{id}"): VIEWER,
    ("PUT", "/api/v1/contacts/{id}"): MANAGER,
    ("DELETE", "/api/v1/contacts/{id}"): MANAGER,
    ("POST", "/api/v1/contacts/{id}/opt-out"): MANAGER,
    ("POST", "/api/v1/contacts/{id}/opt-in"): MANAGER,
    ("POST", "/api/v1/contacts/import"): MANAGER,
    ("GET", "/api/v1/segments"): VIEWER,
    ("POST", "/api/v1/segments"): MANAGER,
    ("GET", "/api/v1/segments/{id}"): VIEWER,
    ("PUT", "/api/v1/segments/{id}"): MANAGER,
    ("DELETE", "/api/v1/segments/{id}"): MANAGER,
    ("GET", "/api/v1/segments/{id}/count"): VIEWER,
    ("POST", "/api/v1/segments/estimate"): VIEWER,
    ("GET", "/api/v1/campaigns/{id}/audience/preview"): VIEWER,
    ("GET", "/api/v1/webhooks"): MANAGER,
    ("POST", "/api/v1/webhooks"): MANAGER,
    ("GET", "/api/v1/webhooks/{id}"): MANAGER,
    ("PUT", "/api/v1/webhooks/{id}"): MANAGER,
    ("DELETE", "/api/v1/webhooks/{id}"): MANAGER,
    ("POST", "/api/v1/webhooks/{id}/rotate-secret"): MANAGER,
    ("POST", "/api/v1/webhooks/{id}/test"): MANAGER,
    ("GET", "/api/v1/webhooks/{id}/deliveries"): MANAGER,
    ("GET", "/api/v1/webhooks/{id}/deliveries/{id}"): MANAGER,
    ("POST", "/api/v1/webhooks/{id}/deliveries/{id}/redeliver"): MANAGER,
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("GET", "/api/v1/users/{id}"): ADMIN,
    ("PUT", "/api/v1/users/{id}"): ADMIN,
    ("DELETE", "/api/v1/users/{id}"): ADMIN,
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/r/{id}"): PUBLIC,
}

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PARAMETER = re.compile(r"\{[^}]*\}")


def _normalized(path: str) -> str:
    return _PARAMETER.sub("{id}", path)


def _concrete(path: str) -> str:
    """The path with every parameter replaced by an id that names nothing."""
    return _PARAMETER.sub(lambda _: str(uuid.uuid4()), path)


class Endpoint:
    def __init__(self, method: str, path: str, operation: dict[str, Any]) -> None:
        self.method = method
        self.path = path
        self.operation = operation

    @property
    def is_public(self) -> bool:
        return self.operation.get("security") == []

    def call(self, base_url: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # An empty body: enough to pass (or fail) the guards, never enough to change anything.
        body = {} if self.method in ("POST", "PUT", "PATCH") else None
        return httpx.request(
            self.method, f"{base_url}{_concrete(self.path)}", headers=headers, json=body, timeout=15
        )

    def __repr__(self) -> str:
        return f"{self.method} {self.path}"


@pytest.fixture(scope="module")
def openapi(platform: Platform) -> dict[str, Any]:
    answer = httpx.get(f"{platform.base_url}/schema/openapi.json")
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def endpoints(openapi: dict[str, Any]) -> dict[tuple[str, str], Endpoint]:
    found = {}
    for path, item in openapi["paths"].items():
        for method in _METHODS:
            if method in item:
                endpoint = Endpoint(method.upper(), path, item[method])
                found[(endpoint.method, _normalized(path))] = endpoint
    assert found, "the OpenAPI document lists no endpoint"
    return found


@pytest.fixture(scope="module")
def tokens(platform: Platform, api: httpx.Client) -> Iterator[dict[str, str]]:
    """An access token per role; the manager and viewer are created for this module."""
    found = {ADMIN: api.headers["Authorization"].removeprefix("Bearer ")}
    created = []
    for role in (MANAGER, VIEWER):
        email = f"matrix-{role}-{uuid.uuid4().hex[:8]}@example.com"
        password = f"matrix-{uuid.uuid4().hex}"
        body = {"email": email, "password": password, "name": f"Matrix {role}", "role": role}
        answer = api.post("/api/v1/users", json=body)
        assert answer.status_code == 201, answer.text
        created.append(answer.json()["data"]["id"])
        logged_in = httpx.post(
            f"{platform.base_url}/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert logged_in.status_code == 200, logged_in.text
        found[role] = logged_in.json()["data"]["accessToken"]
    yield found
    for operator_id in created:
        api.delete(f"/api/v1/users/{operator_id}")


def _refused(answer: httpx.Response, status: int, code: str) -> str | None:
    """What is wrong with ``answer`` as a refusal, or None."""
    if answer.status_code != status:
        return f"answered {answer.status_code}, not {status}: {answer.text[:200]}"
    try:
        body = answer.json()
    except ValueError:
        return f"answered a body that is not JSON: {answer.text[:200]}"
    error = body.get("error") if isinstance(body, dict) else None
    if body.get("success") is not False or not isinstance(error, dict):
        return f"answered outside the error envelope: {answer.text[:200]}"
    if error.get("code") != code or not error.get("message"):
        return f"answered code {error.get('code')!r}, not {code!r}"
    return None


def test_the_openapi_document_declares_bearer_authentication(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    bearer = [
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer"
    ]
    assert bearer, schemes
    assert any(set(requirement) & set(bearer) for requirement in openapi.get("security", []))


def test_every_endpoint_has_a_row(endpoints: dict[tuple[str, str], Endpoint]) -> None:
    missing = sorted(set(endpoints) - set(MINIMUM_ROLE))
    assert not missing, (
        f"endpoints without a row in MINIMUM_ROLE ({__name__}): {missing}; "
        "add each with the least role that may call it"
    )
    for key, endpoint in endpoints.items():
        assert endpoint.is_public == (MINIMUM_ROLE[key] == PUBLIC), (
            f"{endpoint}: the table says {MINIMUM_ROLE[key]}, the OpenAPI security says "
            f"{endpoint.operation.get('security', 'the global requirement')}"
        )


def test_every_protected_endpoint_refuses_a_missing_or_bad_token(
    platform: Platform, endpoints: dict[tuple[str, str], Endpoint]
) -> None:
    """Derived from the OpenAPI alone: it covers an endpoint even before it has a row."""
    problems = []
    for endpoint in endpoints.values():
        if endpoint.is_public:
            answer = endpoint.call(platform.base_url)
            if answer.status_code in (401, 403):
                problems.append(f"{endpoint} is public but answered {answer.status_code}")
            continue
        for token in (None, "not-a-token"):
            problem = _refused(endpoint.call(platform.base_url, token), 401, "UNAUTHORIZED")
            if problem:
                problems.append(f"{endpoint} with token {token!r}: {problem}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), sorted(MINIMUM_ROLE))
def test_each_role_is_allowed_or_forbidden_as_the_table_says(
    platform: Platform,
    endpoints: dict[tuple[str, str], Endpoint],
    tokens: dict[str, str],
    method: str,
    path: str,
    role: str,
) -> None:
    endpoint = endpoints.get((method, path))
    if endpoint is None:
        pytest.skip(f"{method} {path} is not in the OpenAPI document (yet)")
    least = MINIMUM_ROLE[(method, path)]
    answer = endpoint.call(platform.base_url, tokens[role])
    if least == PUBLIC or RANK[role] >= RANK[least]:
        # Allowed: anything but a refusal of who is asking (a 404 or 400 is fine).
        assert answer.status_code not in (401, 403), f"{role}: {answer.text[:300]}"
    else:
        problem = _refused(answer, 403, "FORBIDDEN")
        assert problem is None, f"{role} on {endpoint}: {problem}"
