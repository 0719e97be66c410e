"""Idempotency-Key: a retried POST returns the first answer and changes nothing more."""

from __future__ import annotations

import uuid

import httpx
import psycopg
from support.inspect import stored_events

from telecast_devenv.platform import Platform


def _key() -> str:
    return f"retry{uuid.uuid4().hex}"


def test_a_retried_create_returns_the_first_answer_and_creates_once(
    platform: Platform, api: httpx.Client
) -> None:
    key = _key()
    body = {"name": f"Idempotent {key}", "type": "message"}
    first = api.post("/api/v1/campaigns", json=body, headers={"Idempotency-Key": key})
    again = api.post("/api/v1/campaigns", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    listed = api.get("/api/v1/campaigns", params={"search": key}).json()["data"]
    assert listed["pagination"]["total"] == 1
    assert len(stored_events(platform.database_url, first.json()["data"]["id"])) == 1


def test_the_same_key_with_another_request_is_refused(api: httpx.Client) -> None:
    key = _key()
    api.post(
        "/api/v1/campaigns", json={"name": "A", "type": "message"}, headers={"Idempotency-Key": key}
    )
    other = api.post(
        "/api/v1/campaigns", json={"name": "B", "type": "message"}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_retried_actions_are_answered_not_refused(api: httpx.Client) -> None:
    cid = api.post("/api/v1/campaigns", json={"name": "Act", "type": "message"}).json()["data"][
        "id"
    ]
    key = _key()
    first = api.post(f"/api/v1/campaigns/{cid}/execute", headers={"Idempotency-Key": key})
    again = api.post(f"/api/v1/campaigns/{cid}/execute", headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert again.json()["data"]["executionId"] == first.json()["data"]["executionId"]
    # Without the key, a second execute is what it is: an invalid transition.
    assert api.post(f"/api/v1/campaigns/{cid}/execute").status_code == 409
    clone_key = _key()
    copies = {
        api.post(f"/api/v1/campaigns/{cid}/clone", headers={"Idempotency-Key": clone_key}).json()[
            "data"
        ]["id"]
        for _ in range(3)
    }
    assert len(copies) == 1


def test_a_failed_request_is_not_remembered(api: httpx.Client) -> None:
    key = _key()
    refused = api.post(
        "/api/v1/campaigns", json={"type": "message"}, headers={"Idempotency-Key": key}
    )
    assert refused.status_code == 400
    # A 4xx answer is the answer: the same request gets it again.
    again = api.post(
        "/api/v1/campaigns", json={"type": "message"}, headers={"Idempotency-Key": key}
    )
    assert again.status_code == 400
    assert again.headers.get("Idempotent-Replayed") == "true"


def test_a_malformed_key_is_refused(api: httpx.Client) -> None:
    answer = api.post(
        "/api/v1/campaigns",
        json={"name": "K", "type": "message"},
        headers={"Idempotency-Key": "k" * 256},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_key_whose_gateway_died_mid_request_is_free_again_after_a_request_can_take(
    platform: Platform, api: httpx.Client
) -> None:
    key = _key()
    body = {"name": f"Orphaned {key}", "type": "message"}
    first = api.post("/api/v1/campaigns", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201

    def died_mid_request(seconds_ago: int) -> None:
        # What a gateway killed between taking the key and storing the answer leaves.
        with psycopg.connect(platform.database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE gateway.idempotency_keys SET status = NULL, headers = NULL, "
                "body = NULL, created_at = now() - make_interval(secs => %s) WHERE key = %s",
                (seconds_ago, key),
            )

    died_mid_request(5)
    busy = api.post("/api/v1/campaigns", json=body, headers={"Idempotency-Key": key})
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"

    # Longer ago than a request can take (13 s with the default timeouts; it was 30 s).
    died_mid_request(14)
    again = api.post("/api/v1/campaigns", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.json()["data"]["id"] == first.json()["data"]["id"]  # nothing made twice
