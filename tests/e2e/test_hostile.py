"""Hostile inputs against the running platform: what a security review tried, refused.

Forged and stale tokens, revoked operators, password guessing and login floods, and a
gateway started for production on the published development defaults. Each test was seen
to fail before the fix it guards (docs/security.md lists the threats and their answers).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest
from support.inspect import wait_until

from telecast_devenv import Infra
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.platform import Platform, Service, free_port
from telecast_devenv.schemas import migrate_all
from telecast_gateway.settings import DEV_JWT_SECRET
from telecast_libs.command_signing import DEV_GATEWAY_SIGNING_KEY, generate_signing_key
from telecast_libs.tracking import DEV_TRACKING_SECRET

pytestmark = pytest.mark.e2e

ADMIN = {"email": "admin@telecast.local", "password": "telecast"}


def _password() -> str:
    return f"pw-{secrets.token_urlsafe(12)}"


def _login(platform: Platform, email: str, password: str, address: str = "") -> httpx.Response:
    # The gateway takes the client's address from X-Forwarded-For when the connection comes
    # from a trusted proxy (loopback): each test plays clients of its own.
    headers = {"X-Forwarded-For": address} if address else {}
    return httpx.post(
        f"{platform.base_url}/api/v1/auth/login",
        json={"email": email, "password": password},
        headers=headers,
        timeout=30,
    )


def _client(platform: Platform, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _operator(api: httpx.Client, role: str) -> tuple[dict, str]:
    password = _password()
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    answer = api.post(
        "/api/v1/users", json={"email": email, "password": password, "name": role, "role": role}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["data"], password


def _token(platform: Platform, email: str, password: str) -> dict:
    answer = _login(platform, email, password, address=f"10.9.{secrets.randbelow(250)}.1")
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code, answer.text


# Tokens -----------------------------------------------------------------------------------


def test_tokens_without_issuer_and_audience_or_with_a_strange_role_are_401_not_500(
    platform: Platform, api: httpx.Client
) -> None:
    me = api.get("/api/v1/auth/me").json()["data"]
    now = datetime.now(UTC)
    good = {
        "sub": me["id"],
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "iss": "telecast",
        "aud": "telecast-api",
        "extras": {"email": me["email"], "name": me["name"], "role": "admin", "pwv": 1},
    }
    # Signed with the development secret this platform runs on: only the claims differ.
    forged = {
        "no issuer": {k: v for k, v in good.items() if k != "iss"},
        "no audience": {k: v for k, v in good.items() if k != "aud"},
        "another audience": {**good, "aud": "another-service"},
        "unknown role": {**good, "extras": {**good["extras"], "role": "superuser"}},
        "no role": {**good, "extras": {"pwv": 1}},
        "role not text": {**good, "extras": {**good["extras"], "role": ["admin"]}},
    }
    for name, claims in forged.items():
        with _client(platform, jwt.encode(claims, DEV_JWT_SECRET)) as client:
            answer = client.get("/api/v1/campaigns")
            assert answer.status_code == 401, (name, answer.text)
    with _client(platform, jwt.encode(good, DEV_JWT_SECRET)) as client:
        assert client.get("/api/v1/auth/me").status_code == 200


def test_a_demoted_a_deleted_and_a_disabled_operator_lose_access_at_once(
    platform: Platform, api: httpx.Client
) -> None:
    campaign = {"name": "hostile", "type": "message"}
    for change in ({"role": "viewer"}, {"disabled": True}, {"password": _password()}, None):
        manager, password = _operator(api, "manager")
        token = _token(platform, manager["email"], password)["accessToken"]
        with _client(platform, token) as client:
            assert client.post("/api/v1/campaigns", json=campaign).status_code == 201
            path = f"/api/v1/users/{manager['id']}"
            if change is None:
                assert api.delete(path).status_code == 200
            else:
                assert api.put(path, json=change).status_code == 200, change
            _refused(client.post("/api/v1/campaigns", json=campaign), 401, "UNAUTHORIZED")
            _refused(client.get("/api/v1/campaigns"), 401, "UNAUTHORIZED")
    # A disabled operator cannot log in; enabled again, they can.
    viewer, password = _operator(api, "viewer")
    api.put(f"/api/v1/users/{viewer['id']}", json={"disabled": True})
    _refused(_login(platform, viewer["email"], password, "10.8.0.1"), 403, "ACCOUNT_DISABLED")
    api.put(f"/api/v1/users/{viewer['id']}", json={"disabled": False})
    assert _login(platform, viewer["email"], password, "10.8.0.1").status_code == 200


def test_the_last_administrator_cannot_be_disabled(api: httpx.Client) -> None:
    me = api.get("/api/v1/auth/me").json()["data"]
    others = [
        u
        for u in api.get("/api/v1/users", params={"limit": 100}).json()["data"]["users"]
        if u["role"] == "admin" and u["id"] != me["id"] and not u["disabled"]
    ]
    for other in others:
        api.put(f"/api/v1/users/{other['id']}", json={"disabled": True})
    _refused(api.put(f"/api/v1/users/{me['id']}", json={"disabled": True}), 409, "LAST_ADMIN")


def test_logout_ends_the_login_and_only_that_one(platform: Platform, api: httpx.Client) -> None:
    viewer, password = _operator(api, "viewer")
    phone = _token(platform, viewer["email"], password)
    laptop = _token(platform, viewer["email"], password)
    with _client(platform, phone["accessToken"]) as client:
        answer = client.post("/api/v1/auth/logout", json={"refreshToken": phone["refreshToken"]})
        assert answer.status_code == 200, answer.text
    refreshed = httpx.post(
        f"{platform.base_url}/api/v1/auth/refresh", json={"refreshToken": phone["refreshToken"]}
    )
    _refused(refreshed, 401, "UNAUTHORIZED")
    other = httpx.post(
        f"{platform.base_url}/api/v1/auth/refresh", json={"refreshToken": laptop["refreshToken"]}
    )
    assert other.status_code == 200, other.text


# Logins -----------------------------------------------------------------------------------


def test_guessing_an_accounts_password_is_slowed_down(
    platform: Platform, api: httpx.Client
) -> None:
    victim, password = _operator(api, "manager")
    answers = [
        _login(platform, victim["email"], f"guess-{n}", address=f"10.1.{n}.1") for n in range(8)
    ]
    statuses = [a.status_code for a in answers]
    # Five free failures (from anywhere), then the account must wait, doubling each time.
    assert statuses[:5] == [401] * 5, statuses
    assert 429 in statuses[5:], statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    # While it waits, even the right password is not checked; afterwards it works.
    _refused(_login(platform, victim["email"], password, "10.2.0.1"), 429, "TOO_MANY_REQUESTS")
    wait_until(
        lambda: _login(platform, victim["email"], password, "10.2.0.2").status_code == 200,
        timeout=20,
        interval=1,
        what="the account's wait to end",
    )
    # Other accounts were never affected.
    assert _login(platform, ADMIN["email"], ADMIN["password"], "10.3.0.1").status_code == 200


def test_one_address_guessing_many_accounts_is_slowed_down(platform: Platform) -> None:
    statuses = [
        _login(platform, f"nobody{n}@example.com", "wrong-password", "10.4.0.1").status_code
        for n in range(24)
    ]
    assert statuses[:20] == [401] * 20, statuses
    assert 429 in statuses[20:], statuses
    # Another address is not held back.
    assert _login(platform, ADMIN["email"], ADMIN["password"], "10.4.0.2").status_code == 200


def test_a_login_flood_is_refused_at_once_beyond_the_hashing_capacity(
    platform: Platform,
) -> None:
    def attempt(n: int) -> int:
        return _login(
            platform, f"flood{n}@example.com", "wrong-password", f"10.5.{n}.1"
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(attempt, range(64)))
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(429) > 0, statuses
    # The gateway is answering real logins again straight after.
    assert _login(platform, ADMIN["email"], ADMIN["password"], "10.5.250.1").status_code == 200


# Production on development defaults ------------------------------------------------------


def _gateway(infra: Infra, database_url: str, log_dir: Path, **env: str) -> Service:
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("TELECAST_", "JWT_", "TRACKING_", "BOOTSTRAP_", "NATS_GATEWAY_", "GATEWAY_SIGNING_")
        )
    }
    return Service(
        "gateway",
        {
            **environment,
            "DATABASE_URL": database_url,
            "NATS_URL": infra.nats_url,
            "TELECAST_NAMESPACE": f"t{secrets.token_hex(4)}",
            "GATEWAY_PORT": str(port),
            "LOG_FORMAT": "json",
            **env,
        },
        port,
        log_dir,
    )


# The session's NATS asks for no password and ignores one; production requires it.
NATS_PASSWORD = {"NATS_GATEWAY_PASSWORD": "n" * 40}
SECRETS = {
    "JWT_SECRET": "j" * 40,
    "TRACKING_SECRET": "t" * 40,
    "GATEWAY_SIGNING_KEY": generate_signing_key(),
    **NATS_PASSWORD,
}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        (NATS_PASSWORD, "JWT_SECRET"),
        ({**NATS_PASSWORD, "JWT_SECRET": ""}, "JWT_SECRET"),
        ({**SECRETS, "JWT_SECRET": DEV_JWT_SECRET}, "JWT_SECRET"),
        ({**NATS_PASSWORD, "JWT_SECRET": "j" * 40}, "TRACKING_SECRET"),
        ({**SECRETS, "TRACKING_SECRET": DEV_TRACKING_SECRET}, "TRACKING_SECRET"),
        ({**SECRETS, "BOOTSTRAP_ADMIN_PASSWORD": "telecast"}, "BOOTSTRAP_ADMIN_PASSWORD"),
        ({**SECRETS, "NATS_GATEWAY_PASSWORD": ""}, "NATS_GATEWAY_PASSWORD"),
        ({**SECRETS, "GATEWAY_SIGNING_KEY": DEV_GATEWAY_SIGNING_KEY}, "GATEWAY_SIGNING_KEY"),
    ],
)
def test_a_gateway_for_production_refuses_the_development_defaults(
    infra: Infra, database_url: str, tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "telecast_gateway"],
        env={**_gateway(infra, database_url, tmp_path, **env).env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert variable in done.stderr, done.stderr
    for value in env.values():
        if len(value) >= 20:
            assert value not in done.stderr  # names the variable, never its value


def test_a_dispatcher_for_production_refuses_the_development_tracking_secret(
    database_url: str,
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELECAST_")}
    done = subprocess.run(
        [sys.executable, "-m", "telecast_dispatcher"],
        env={
            **environment,
            "DATABASE_URL": database_url,
            "TRACKING_SECRET": "",
            "NATS_DISPATCHER_PASSWORD": "n" * 40,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "TRACKING_SECRET" in done.stderr, done.stderr


def test_production_generates_the_first_administrators_password_and_it_must_be_changed(
    infra: Infra, tmp_path: Path
) -> None:
    database = f"telecast_t_{secrets.token_hex(4)}"
    url = create_database(infra.database_url, database)
    migrate_all(url)
    gateway = _gateway(infra, url, tmp_path, **SECRETS, BOOTSTRAP_ADMIN_EMAIL="root@example.com")
    try:
        gateway.start()
        gateway.wait_ready()
        created = [
            json.loads(line)
            for line in gateway.log_path.read_text().splitlines()
            if "generated_password" in line
        ]
        assert len(created) == 1, gateway.log_tail()
        generated = created[0]["generated_password"]
        base = f"http://127.0.0.1:{gateway.port}"
        _refused(
            httpx.post(
                f"{base}/api/v1/auth/login",
                json={"email": "admin@telecast.local", "password": "telecast"},
            ),
            401,
            "UNAUTHORIZED",
        )
        answer = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": "root@example.com", "password": generated}
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["data"]["accessToken"]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            _refused(client.get("/api/v1/users"), 403, "PASSWORD_CHANGE_REQUIRED")
            _refused(client.get("/api/v1/campaigns"), 403, "PASSWORD_CHANGE_REQUIRED")
            assert client.get("/api/v1/auth/me").json()["data"]["mustChangePassword"] is True
            weak = client.post(
                "/api/v1/auth/password",
                json={"currentPassword": generated, "newPassword": "password123"},
            )
            _refused(weak, 400, "VALIDATION_ERROR")
            changed = client.post(
                "/api/v1/auth/password",
                json={"currentPassword": generated, "newPassword": _password()},
            )
            assert changed.status_code == 200, changed.text
            fresh = changed.json()["data"]["accessToken"]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {fresh}"}) as client:
            assert client.get("/api/v1/users").status_code == 200
        # A restart generates nothing more: the administrator exists.
        gateway.stop()
        gateway.start()
        gateway.wait_ready()
        time.sleep(0.5)
        assert gateway.log_path.read_text().count("generated_password") == 1
    finally:
        gateway.stop()
        drop_database(infra.database_url, database)


# Replays ----------------------------------------------------------------------------------


def test_a_replayed_request_never_gives_a_secret_back(
    platform: Platform, api: httpx.Client
) -> None:
    key = f"hostile-{secrets.token_hex(8)}"
    body = {"url": "http://127.0.0.1:9/hook", "events": ["campaign.created"]}
    first = api.post("/api/v1/webhooks", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    secret = first.json()["data"]["secret"]
    webhook_id = first.json()["data"]["id"]
    again = api.post("/api/v1/webhooks", json=body, headers={"Idempotency-Key": key})
    _refused(again, 409, "SECRET_NOT_REPLAYED")
    assert again.json()["error"]["details"]["id"] == webhook_id
    assert secret not in again.text

    rotate = f"/api/v1/webhooks/{webhook_id}/rotate-secret"
    rotated = api.post(rotate, headers={"Idempotency-Key": key + "r"})
    assert rotated.status_code == 200, rotated.text
    _refused(api.post(rotate, headers={"Idempotency-Key": key + "r"}), 409, "SECRET_NOT_REPLAYED")
    new_secret = rotated.json()["data"]["secret"]

    with psycopg.connect(platform.database_url) as conn:
        stored = b"".join(
            bytes(row[0] or b"")
            for row in conn.execute("SELECT body FROM gateway.idempotency_keys").fetchall()
        )
    assert secret.encode() not in stored and new_secret.encode() not in stored
    api.delete(f"/api/v1/webhooks/{webhook_id}")


def test_json_nested_thousands_deep_is_a_400_not_a_500(platform: Platform) -> None:
    for depth in (1_000, 100_000):
        nested = "[" * depth + "]" * depth
        for path in ("/api/v1/auth/login", "/api/v1/auth/refresh"):
            answer = httpx.post(
                f"{platform.base_url}{path}",
                content=nested,
                headers={"Content-Type": "application/json"},
            )
            _refused(answer, 400, "VALIDATION_ERROR")
    log = platform["gateway"].log_path.read_text()
    assert "RecursionError" not in log and "Traceback" not in log


def test_answers_carry_security_headers_and_no_server_banner(platform: Platform) -> None:
    for path in ("/health", "/api/v1/campaigns", "/api/v1/auth/login"):
        answer = httpx.get(f"{platform.base_url}{path}")
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "server" not in answer.headers
    # Behind a TLS-terminating proxy (X-Forwarded-Proto from a trusted address): HSTS.
    proxied = httpx.get(f"{platform.base_url}/health", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in proxied.headers["strict-transport-security"]
    assert httpx.get(f"{platform.base_url}/metrics").status_code in (401, 404)
