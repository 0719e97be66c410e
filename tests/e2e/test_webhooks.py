"""Webhooks end to end: real services, a real HTTP receiver on loopback, campaigns driven
through the API. Retry timings are shrunk through the dispatcher's settings."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from support.inspect import wait_until
from support.webhook_receiver import Answer, Received, Receiver, running_receiver

from telecast_devenv.platform import Platform
from telecast_dispatcher.webhooks.signing import verify

WEBHOOK_ENV = {
    # Campaigns here exist for their events; executions stay as the API leaves them.
    "SENDING_ENABLED": "false",
    "WEBHOOK_TIMEOUT_SECONDS": "1",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_RETRY_FACTOR": "2",
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "1",
    "WEBHOOK_RETRY_JITTER": "0.1",
    "WEBHOOK_MAX_ATTEMPTS": "4",
    "WEBHOOK_RETRY_WINDOW_SECONDS": "60",
    "WEBHOOK_DISABLE_AFTER_FAILURES": "6",
    "WEBHOOK_DISABLE_AFTER_SECONDS": "1",
    "WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
}
# For the crash test: retries every 0.1-0.3 s without end.
PATIENT = {
    "WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "0.3",
    "WEBHOOK_MAX_ATTEMPTS": "10000",
    "WEBHOOK_DISABLE_AFTER_FAILURES": "1000000",
}
LIFECYCLE = [
    "campaign.created",
    "campaign.started",
    "campaign.paused",
    "campaign.resumed",
    "campaign.updated",
    "campaign.completed",
]


@pytest.fixture(scope="module")
def platform(
    database_url: str, nats_url: str, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = Platform(
        database_url, nats_url, namespace, tmp_path_factory.mktemp("logs"), env=WEBHOOK_ENV
    )
    try:
        running.start()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def subscribe(api: httpx.Client, receiver: Receiver) -> Iterator[Callable[..., dict]]:
    """Create a subscription to a receiver path; deleted when the test ends."""
    created: list[str] = []

    def make(path: str, events: list[str] | None = None, **fields: object) -> dict:
        answer = api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url(path), "events": events or LIFECYCLE, **fields},
        )
        assert answer.status_code == 201, answer.text
        data = answer.json()["data"]
        created.append(data["id"])
        return data

    yield make
    for webhook_id in created:
        api.delete(f"/api/v1/webhooks/{webhook_id}")


def _campaign(api: httpx.Client, name: str = "Webhooks") -> str:
    answer = api.post("/api/v1/campaigns", json={"name": name, "type": "message"})
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def _act(api: httpx.Client, campaign_id: str, action: str) -> None:
    answer = api.post(f"/api/v1/campaigns/{campaign_id}/{action}")
    assert answer.status_code == 200, answer.text


def _deliveries(api: httpx.Client, webhook_id: str, **params: object) -> list[dict]:
    answer = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params={"limit": 100, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["deliveries"]


def _for(received: list, campaign_id: str) -> list:
    return [r for r in received if r.body.get("campaign", {}).get("id") == campaign_id]


def test_signed_deliveries_arrive_in_order(
    api: httpx.Client, receiver: Receiver, subscribe: Callable[..., dict]
) -> None:
    webhook = subscribe("ordered", description="every lifecycle event")
    secret = webhook["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    cid = _campaign(api)
    _act(api, cid, "execute")
    _act(api, cid, "pause")
    _act(api, cid, "resume")
    assert api.put(f"/api/v1/campaigns/{cid}", json={"name": "Renamed"}).status_code == 200
    assert api.put(f"/api/v1/campaigns/{cid}", json={"status": "completed"}).status_code == 200

    wait_until(lambda: len(_for(receiver.at("ordered"), cid)) == 6, what="six deliveries")
    got = _for(receiver.at("ordered"), cid)
    assert [r.event_type for r in got] == LIFECYCLE
    assert [r.body["campaign"]["version"] for r in got] == [1, 2, 3, 4, 5, 6]
    assert [r.body["campaign"]["status"] for r in got] == [
        "draft",
        "active",
        "paused",
        "active",
        "active",
        "completed",
    ]
    assert got[-1].body["campaign"]["name"] == "Renamed"
    for record in got:
        assert verify(secret, record.signature, record.raw), record.signature
        assert not verify("whsec_wrong", record.signature, record.raw)
        assert record.body["id"] == record.event_id
        assert record.body["type"] == record.event_type
        assert record.body["occurredAt"].endswith("Z")
    assert got[0].body["data"]["campaign"]["name"] == "Webhooks"

    # The secret is shown once: never by get or list.
    shown = api.get(f"/api/v1/webhooks/{webhook['id']}").json()["data"]
    assert "secret" not in shown and shown["active"] is True
    listed = api.get("/api/v1/webhooks", params={"limit": 100}).json()["data"]["webhooks"]
    assert webhook["id"] in {w["id"] for w in listed}
    assert not any("secret" in w for w in listed)

    # The delivery log: one succeeded attempt each, with status and latency.
    def recorded() -> list[dict]:
        return [
            d for d in _deliveries(api, webhook["id"], status="succeeded") if d["campaignId"] == cid
        ]

    wait_until(lambda: len(recorded()) == 6, what="the outcomes to be recorded")
    mine = recorded()
    for delivery in mine:
        assert delivery["status"] == "succeeded"
        assert delivery["attemptCount"] == 1
        [attempt] = delivery["attempts"]
        assert attempt["statusCode"] == 200 and attempt["latencyMs"] >= 0
        assert attempt["responseExcerpt"] == "ok"
        assert "nextAttemptAt" not in attempt


def test_campaign_filter_and_event_types(
    api: httpx.Client, receiver: Receiver, subscribe: Callable[..., dict]
) -> None:
    watched, other = _campaign(api, "Watched"), _campaign(api, "Other")
    subscribe("filtered", events=["campaign.updated", "campaign.cancelled"], campaignIds=[watched])
    for cid in (other, watched):
        assert api.put(f"/api/v1/campaigns/{cid}", json={"name": "changed"}).status_code == 200
        _act(api, cid, "execute")
        assert api.put(f"/api/v1/campaigns/{cid}", json={"status": "cancelled"}).status_code == 200
    wait_until(lambda: len(receiver.at("filtered")) == 2, what="the watched campaign's events")
    time.sleep(0.5)
    got = receiver.at("filtered")
    assert [(r.body["campaign"]["id"], r.event_type) for r in got] == [
        (watched, "campaign.updated"),
        (watched, "campaign.cancelled"),
    ]


def test_retries_after_500s_and_timeouts_keep_the_order(
    api: httpx.Client, receiver: Receiver, subscribe: Callable[..., dict]
) -> None:
    def script(request: Received, seen: int) -> Answer:
        if request.event_type == "campaign.created" and seen < 2:
            return Answer(500, body="x" * 2000)
        if request.event_type == "campaign.started" and seen == 0:
            return Answer(200, delay=2.5)  # past the 1 s timeout
        return Answer(200)

    receiver.on("flaky", script)
    webhook = subscribe("flaky", events=["campaign.created", "campaign.started"])
    cid = _campaign(api, "Flaky")
    _act(api, cid, "execute")

    def finished() -> bool:
        mine = [d for d in _deliveries(api, webhook["id"]) if d["campaignId"] == cid]
        return len(mine) == 2 and all(d["status"] == "succeeded" for d in mine)

    wait_until(finished, timeout=30, what="both deliveries to succeed")
    mine = {d["eventType"]: d for d in _deliveries(api, webhook["id"])}
    created = mine["campaign.created"]
    assert [a["statusCode"] for a in created["attempts"]] == [500, 500, 200]
    assert [a.get("error") for a in created["attempts"]] == ["HTTP 500", "HTTP 500", None]
    assert all(len(a["responseExcerpt"].encode()) <= 512 for a in created["attempts"])
    assert all("nextAttemptAt" in a for a in created["attempts"][:2])
    started = mine["campaign.started"]
    assert len(started["attempts"]) == 2
    assert "statusCode" not in started["attempts"][0]
    assert "no answer within 1 s" in started["attempts"][0]["error"]
    assert started["attempts"][0]["latencyMs"] >= 1000
    assert started["attempts"][1]["statusCode"] == 200

    # Nothing of the campaign's second event went out before its first was delivered.
    everything = _for(receiver.at("flaky", status=None), cid)
    last_created = max(r.at for r in everything if r.event_type == "campaign.created")
    first_started = min(r.at for r in everything if r.event_type == "campaign.started")
    assert first_started > last_created
    assert [r.event_type for r in _for(receiver.at("flaky"), cid)] == [
        "campaign.created",
        "campaign.started",
    ]


def test_a_receiver_that_keeps_failing_gives_up_and_is_disabled(
    api: httpx.Client, receiver: Receiver, subscribe: Callable[..., dict]
) -> None:
    receiver.on("down", lambda _e, _n: Answer(500, body="down for maintenance"))
    webhook = subscribe("down", events=["campaign.created"])
    wid = webhook["id"]
    cid = _campaign(api, "Given up")

    # One event: four attempts (WEBHOOK_MAX_ATTEMPTS), then given up.
    def given_up() -> bool:
        return any(d["status"] == "failed" for d in _deliveries(api, wid))

    wait_until(given_up, timeout=30, what="the delivery to be given up")
    [delivery] = _deliveries(api, wid)
    assert delivery["attemptCount"] == 4
    assert [a["statusCode"] for a in delivery["attempts"]] == [500] * 4
    assert "nextAttemptAt" not in delivery["attempts"][-1]
    assert "nextAttemptAt" not in delivery
    assert api.get(f"/api/v1/webhooks/{wid}").json()["data"]["active"] is True

    # More events, still failing: six failures in a row over a second disable it.
    for n in range(3):
        _campaign(api, f"Failing {n}")

    def disabled() -> dict | None:
        shown = api.get(f"/api/v1/webhooks/{wid}").json()["data"]
        return shown if not shown["active"] else None

    wait_until(lambda: disabled() is not None, timeout=30, what="the webhook to be disabled")
    shown = disabled()
    assert shown is not None
    assert "failed attempts in a row" in shown["disabledReason"]
    assert "HTTP 500" in shown["disabledReason"]
    assert shown["disabledAt"] and shown["consecutiveFailures"] >= 6
    # Disabled: no more attempts.
    time.sleep(1.5)
    count = len(receiver.at("down", status=None))
    time.sleep(1.0)
    assert len(receiver.at("down", status=None)) == count

    # The receiver is fixed: re-enabled, what waited goes, and a given-up delivery is
    # redelivered on request.
    receiver.on("down", lambda _e, _n: Answer(200))
    enabled = api.put(f"/api/v1/webhooks/{wid}", json={"active": True})
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["data"]["active"] is True
    assert "disabledReason" not in enabled.json()["data"]
    redelivered = api.post(f"/api/v1/webhooks/{wid}/deliveries/{delivery['id']}/redeliver")
    assert redelivered.status_code == 202, redelivered.text
    assert redelivered.json()["data"]["status"] == "pending"

    def redelivered_view() -> dict:
        return api.get(f"/api/v1/webhooks/{wid}/deliveries/{delivery['id']}").json()["data"]

    wait_until(lambda: redelivered_view()["status"] == "succeeded", what="the redelivery")
    assert [r.body["campaign"]["id"] for r in receiver.at("down")].count(cid) == 1
    again = redelivered_view()
    assert [a["statusCode"] for a in again["attempts"]] == [500, 500, 500, 500, 200]
    wait_until(
        lambda: all(d["status"] != "pending" for d in _deliveries(api, wid)),
        what="the deliveries that waited",
    )


def test_redeliver_refuses_a_pending_delivery(
    api: httpx.Client, receiver: Receiver, subscribe: Callable[..., dict]
) -> None:
    receiver.on("slow", lambda _e, _n: Answer(200, delay=0.8))
    webhook = subscribe("slow", events=["campaign.created"])
    _campaign(api, "Slow")
    wait_until(lambda: _deliveries(api, webhook["id"]), what="the delivery")
    [delivery] = _deliveries(api, webhook["id"])
    if delivery["status"] == "pending":
        refused = api.post(
            f"/api/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/redeliver"
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "DELIVERY_PENDING"
    missing = api.post(f"/api/v1/webhooks/{webhook['id']}/deliveries/{uuid.uuid4()}/redeliver")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "DELIVERY_NOT_FOUND"


def test_test_event_and_secret_rotation(
    api: httpx.Client, receiver: Receiver, subscribe: Callable[..., dict]
) -> None:
    webhook = subscribe("ping", events=["campaign.created"], active=False)
    wid, old_secret = webhook["id"], webhook["secret"]
    assert webhook["active"] is False

    sent = api.post(f"/api/v1/webhooks/{wid}/test")
    assert sent.status_code == 202, sent.text
    delivery = sent.json()["data"]
    assert delivery["eventType"] == "webhook.test" and delivery["status"] == "pending"
    wait_until(lambda: receiver.at("ping"), what="the test event")
    [ping] = receiver.at("ping")
    assert ping.event_type == "webhook.test"
    assert ping.body["data"]["webhookId"] == wid
    assert verify(old_secret, ping.signature, ping.raw)
    wait_until(
        lambda: (
            api.get(f"/api/v1/webhooks/{wid}/deliveries/{delivery['id']}").json()["data"]["status"]
            == "succeeded"
        ),
        what="the test delivery's outcome",
    )

    rotated = api.post(f"/api/v1/webhooks/{wid}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["data"]["secret"]
    assert new_secret != old_secret and rotated.json()["data"]["previousSecretExpiresAt"]
    assert "secret" not in api.get(f"/api/v1/webhooks/{wid}").json()["data"]
    api.post(f"/api/v1/webhooks/{wid}/test")
    wait_until(lambda: len(receiver.at("ping")) == 2, what="the second test event")
    second = receiver.at("ping")[1]
    # During the grace period both secrets sign: receivers switch without a gap.
    assert second.signature.count("v1=") == 2
    assert verify(new_secret, second.signature, second.raw)
    assert verify(old_secret, second.signature, second.raw)


def test_unsafe_targets_are_refused(api: httpx.Client, receiver: Receiver) -> None:
    before = api.get("/api/v1/webhooks", params={"limit": 100}).json()["data"]["pagination"]
    refused = {
        "ftp://127.0.0.1/hook": "VALIDATION_ERROR",
        "javascript:alert(1)": "VALIDATION_ERROR",
        "http://user:password@127.0.0.1/hook": "VALIDATION_ERROR",
        "http:///no-host": "VALIDATION_ERROR",
        "http://10.0.0.1/hook": "WEBHOOK_TARGET_NOT_ALLOWED",
        "http://192.168.1.20/hook": "WEBHOOK_TARGET_NOT_ALLOWED",
        "http://169.254.169.254/latest/meta-data/": "WEBHOOK_TARGET_NOT_ALLOWED",
        "http://127.0.0.2/hook": "WEBHOOK_TARGET_NOT_ALLOWED",
        "http://[::1]:8080/hook": "WEBHOOK_TARGET_NOT_ALLOWED",
        "http://[::ffff:10.0.0.1]/hook": "WEBHOOK_TARGET_NOT_ALLOWED",
        "http://0.0.0.0/hook": "WEBHOOK_TARGET_NOT_ALLOWED",
        "http://224.0.0.1/hook": "WEBHOOK_TARGET_NOT_ALLOWED",
        "http://no-such-host.invalid/hook": "WEBHOOK_TARGET_NOT_ALLOWED",
    }
    for url, code in refused.items():
        answer = api.post("/api/v1/webhooks", json={"url": url, "events": ["campaign.created"]})
        # A URL that is not one is a bad request; a host the policy keeps webhooks from is
        # a refusal (403), whatever the request's form.
        status = 400 if code == "VALIDATION_ERROR" else 403
        assert answer.status_code == status, (url, answer.text)
        error = answer.json()["error"]
        assert error["code"] == code, (url, error)
        assert "url" in error["message"]
    private = api.post(
        "/api/v1/webhooks", json={"url": "http://10.1.2.3/", "events": ["campaign.created"]}
    ).json()["error"]["message"]
    assert "private" in private and "WEBHOOK_ALLOWED_HOSTS" in private
    after = api.get("/api/v1/webhooks", params={"limit": 100}).json()["data"]["pagination"]
    assert after["total"] == before["total"]

    # Allowlisted (the platform allows 127.0.0.1 and localhost): accepted; and an update to
    # an unsafe URL is refused like a create.
    ok = api.post(
        "/api/v1/webhooks",
        json={"url": f"http://localhost:{receiver.port}/x", "events": ["campaign.created"]},
    )
    assert ok.status_code == 201, ok.text
    wid = ok.json()["data"]["id"]
    moved = api.put(f"/api/v1/webhooks/{wid}", json={"url": "http://10.0.0.1/"})
    assert moved.status_code == 403
    assert moved.json()["error"]["code"] == "WEBHOOK_TARGET_NOT_ALLOWED"
    assert api.get(f"/api/v1/webhooks/{wid}").json()["data"]["url"].startswith("http://localhost")
    assert api.delete(f"/api/v1/webhooks/{wid}").status_code == 200
    assert api.get(f"/api/v1/webhooks/{wid}").status_code == 404


def test_bad_requests_and_roles(platform: Platform, api: httpx.Client, receiver: Receiver) -> None:
    bad_bodies = [
        {"url": receiver.url("x"), "events": ["campaign.exploded"]},
        {"url": receiver.url("x"), "events": []},
        {"events": ["campaign.created"]},
        {"url": receiver.url("x"), "events": ["campaign.created"], "secret": "mine"},
    ]
    for body in bad_bodies:
        answer = api.post("/api/v1/webhooks", json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"]["code"] == "VALIDATION_ERROR"
    for webhook_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method, path in (
            ("GET", ""),
            ("DELETE", ""),
            ("GET", "/deliveries"),
            ("POST", "/test"),
            ("POST", "/rotate-secret"),
        ):
            answer = api.request(method, f"/api/v1/webhooks/{webhook_id}{path}")
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["error"]["code"] == "WEBHOOK_NOT_FOUND"
    empty = api.put(f"/api/v1/webhooks/{uuid.uuid4()}", json={})
    assert empty.status_code == 400

    assert httpx.get(f"{platform.base_url}/api/v1/webhooks").status_code == 401
    email, password = f"viewer-{uuid.uuid4().hex[:8]}@x.io", f"pw-{uuid.uuid4().hex}"
    made = api.post(
        "/api/v1/users", json={"email": email, "password": password, "name": "V", "role": "viewer"}
    )
    assert made.status_code == 201, made.text
    answer = httpx.post(
        f"{platform.base_url}/api/v1/auth/login", json={"email": email, "password": password}
    )
    headers = {"Authorization": f"Bearer {answer.json()['data']['accessToken']}"}
    # Subscriptions name internal endpoints and the log shows their answers: not a viewer's.
    listed = httpx.get(f"{platform.base_url}/api/v1/webhooks", headers=headers)
    assert listed.status_code == 403, listed.text
    created = httpx.post(
        f"{platform.base_url}/api/v1/webhooks",
        headers=headers,
        json={"url": receiver.url("x"), "events": ["campaign.created"]},
    )
    assert created.status_code == 403
    assert created.json()["error"]["code"] == "FORBIDDEN"


def _acknowledged_recorded(database_url: str, event_ids: set[str]) -> bool:
    """Every event the receiver acknowledged is recorded as delivered by the dispatcher."""
    if not event_ids:
        return True
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM dispatcher.webhook_deliveries "
            "WHERE event_id = ANY(%s) AND status = 'succeeded'",
            (list(event_ids),),
        ).fetchone()
    return rows[0] == len(event_ids)


def test_dispatcher_killed_mid_stream_loses_and_doubles_nothing(
    platform: Platform, api: httpx.Client, receiver: Receiver, subscribe: Callable[..., dict]
) -> None:
    # Retries go on for as long as the receiver refuses: nothing is given up or disabled.
    dispatcher = platform["dispatcher"]
    dispatcher.stop()
    dispatcher.start(**PATIENT)
    dispatcher.wait_ready()
    mode = {"answer": Answer(200)}
    receiver.on("crash", lambda _e, _n: mode["answer"])
    subscribe("crash", events=["campaign.created", "campaign.updated"])
    campaigns: list[str] = []
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for n in range(24):
                cid = _campaign(api, f"Crash {n}")
                for version in (2, 3, 4):
                    answer = api.put(
                        f"/api/v1/campaigns/{cid}", json={"name": f"Crash {n} v{version}"}
                    )
                    assert answer.status_code == 200, answer.text
                campaigns.append(cid)
                time.sleep(0.05)
        except BaseException as error:
            failures.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    wait_until(lambda: len(receiver.at("crash")) >= 12, what="some deliveries")

    # The receiver stops acknowledging; once every acknowledgement it gave is recorded, no
    # acknowledged delivery is in flight, so a crash now may not send any of them again.
    mode["answer"] = Answer(503, body="busy")
    switched = time.monotonic()
    wait_until(
        lambda: any(r.at > switched for r in receiver.at("crash", status=503)),
        what="a refused attempt",
    )
    wait_until(
        lambda: _acknowledged_recorded(
            platform.database_url, {r.event_id for r in receiver.at("crash")}
        ),
        what="the acknowledged deliveries to be recorded",
    )
    dispatcher.kill()
    assert writer.is_alive(), "the writer finished before the crash: make it write more"
    time.sleep(0.5)
    dispatcher.start(**PATIENT)
    dispatcher.wait_ready()
    mode["answer"] = Answer(200)
    writer.join(120)
    assert not failures, failures
    assert len(campaigns) == 24

    expected = len(campaigns) * 4
    wait_until(
        lambda: len({r.event_id for r in receiver.at("crash")}) >= expected,
        timeout=60,
        what="every event to be delivered",
    )
    time.sleep(1.0)
    acknowledged = receiver.at("crash")
    ids = [r.event_id for r in acknowledged]
    assert len(ids) == len(set(ids)) == expected, "an acknowledged event was delivered twice"
    for cid in campaigns:
        versions = [r.body["campaign"]["version"] for r in _for(acknowledged, cid)]
        assert versions == [1, 2, 3, 4], (cid, versions)
    follows = [
        line
        for line in dispatcher.log_path.read_text().splitlines()
        if "stream.following" in line and "_webhook_intake" in line
    ]
    assert len(follows) >= 2
    dispatcher.stop()
    dispatcher.start()
    dispatcher.wait_ready()
