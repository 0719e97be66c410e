"""NATS as a trust boundary: the platform on a nats-server started with the deployment's
authorization file (deploy/nats/authorization.conf), each service as its own user.

A campaign runs to completion through the simulator with no permission refused to any
service (the server logs every refusal); a client without credentials is refused; with a
service's credentials a client can do only what that service may: the gateway's user cannot
publish an event, the projection's cannot send a command, and no user reads the answers
meant for another. What nats-py reports for each refusal is what is asserted.

The module runs on a nats-server of its own (namespace ``telecast``, as the file names its
subjects) and a database of its own.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import nats
import nats.errors
import pytest
from support.inspect import wait_until
from support.sending import client, create_campaign, execute, ledger, make_audience, wait_status

from telecast_devenv import Infra
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.embedded import EmbeddedNats
from telecast_devenv.nats_users import AUTHORIZATION, generate_passwords, password_variable
from telecast_devenv.platform import Platform, free_port
from telecast_libs import command_signing
from telecast_libs.command_signing import (
    DISPATCHER,
    GATEWAY,
    CommandSigner,
    generate_signing_key,
    public_key_of,
)

pytestmark = pytest.mark.e2e

NAMESPACE = "telecast"


@dataclass
class Guarded:
    platform: Platform
    server: EmbeddedNats
    passwords: dict[str, str]
    keys: dict[str, str]

    def password(self, user: str) -> str:
        return self.passwords[password_variable(user)]

    def violations(self) -> list[str]:
        """The refusals the server logged to the services (their connections are named
        telecast-<service>; the tests' own deliberate trespasses are not)."""
        log = self.server.log_path.read_text(errors="replace")
        return [line for line in log.splitlines() if "Violation" in line and ":telecast-" in line]


@pytest.fixture(scope="module")
def guarded(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    state = tmp_path_factory.mktemp("nats-trust")
    passwords = generate_passwords()
    # Keys of its own, not the development ones, as a deployment has.
    gateway_key, dispatcher_key = generate_signing_key(), generate_signing_key()
    keys = {
        "GATEWAY_SIGNING_KEY": gateway_key,
        "GATEWAY_VERIFY_KEY": public_key_of(gateway_key),
        "DISPATCHER_SIGNING_KEY": dispatcher_key,
        "DISPATCHER_VERIFY_KEY": public_key_of(dispatcher_key),
    }
    server = EmbeddedNats(
        state / "nats",
        free_port(),
        # pytest's temporary folder goes in time; the server's log, in the store, is evidence.
        keep_store=True,
        config=AUTHORIZATION,
        environment=passwords,
    )
    database = f"telecast_t_{secrets.token_hex(4)}"
    database_url = create_database(infra.database_url, database)
    (state / "logs").mkdir()
    platform = Platform(
        database_url, server.url, NAMESPACE, state / "logs", env={**passwords, **keys}
    )
    try:
        server.start()
        try:
            platform.start()
            yield Guarded(platform, server, passwords, keys)
        except BaseException:
            print(platform.logs())
            raise
        finally:
            platform.stop()
    finally:
        server.stop()
        drop_database(infra.database_url, database)


@pytest.fixture(scope="module")
def api(guarded: Guarded) -> Iterator[httpx.Client]:
    with client(guarded.platform) as api:
        yield api


class Reported:
    """What nats-py reports to a client's error callback (permission refusals arrive so)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    async def record(self, error: Exception) -> None:
        self.errors.append(str(error))

    async def wait(self, fragment: str) -> str:
        """The first error naming ``fragment`` (nats-py reports the server's message in
        lowercase, subjects included)."""
        for _ in range(100):
            found = [e for e in self.errors if fragment.lower() in e]
            if found:
                return found[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no error with {fragment!r} reported; got {self.errors}")


async def connect_as(guarded: Guarded, user: str, reported: Reported) -> nats.NATS:
    return await nats.connect(
        guarded.server.url,
        user=user,
        password=guarded.password(user),
        inbox_prefix=f"_INBOX.{user}",
        error_cb=reported.record,
        allow_reconnect=False,
    )


def test_a_campaign_runs_to_completion_and_no_service_is_refused_anything(
    guarded: Guarded, api: httpx.Client
) -> None:
    audience = make_audience(api, "trust", list(range(7_100_001, 7_100_021)))
    campaign_id = create_campaign(api, audience, ["Hello {{firstName}}"])
    execution_id = execute(api, campaign_id)
    wait_status(api, campaign_id, "completed", timeout=60)
    rows = ledger(guarded.platform.database_url, execution_id)
    assert len(rows) == 20
    assert {row["state"] for row in rows} == {"sent"}
    # The read side followed (both streams), and the other services answer their requests.
    wait_until(
        lambda: (
            api.get(f"/api/v1/campaigns/{campaign_id}/statistics").json()["data"]["overview"][
                "messagesSent"
            ]
            == 20
        ),
        timeout=30,
        what="the statistics",
    )
    assert api.get("/api/v1/webhooks").status_code == 200
    assert api.get(f"/api/v1/segments/{audience.segment_id}/count").status_code == 200
    assert guarded.violations() == []


async def test_a_client_without_credentials_is_refused(guarded: Guarded) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(guarded.server.url, allow_reconnect=False, max_reconnect_attempts=0)


async def test_a_wrong_password_is_refused(guarded: Guarded) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(
            guarded.server.url,
            user="campaign",
            password=guarded.password("gateway"),
            allow_reconnect=False,
            max_reconnect_attempts=0,
        )


async def stored_events(guarded: Guarded) -> int:
    """How many messages the campaign event stream holds (read as the campaign service)."""
    nc = await connect_as(guarded, "campaign", Reported())
    try:
        info = await nc.jetstream().stream_info(f"{NAMESPACE.upper()}_CAMPAIGN_EVENTS")
        return info.state.messages
    finally:
        await nc.close()


async def test_the_gateways_user_cannot_publish_a_campaign_event(guarded: Guarded) -> None:
    before = await stored_events(guarded)
    reported = Reported()
    nc = await connect_as(guarded, "gateway", reported)
    try:
        forged = b'{"type":"campaign.created","aggregateId":"forged"}'
        subject = f"{NAMESPACE}.events.campaign.created"
        with pytest.raises(nats.errors.TimeoutError):
            await nc.jetstream().publish(subject, forged, timeout=1)
        refusal = await reported.wait(subject)
        assert refusal == f'nats: permissions violation for publish to "{subject}"'
        # Nor may it read the stream.
        stream = f"{NAMESPACE.upper()}_CAMPAIGN_EVENTS"
        with pytest.raises(nats.errors.TimeoutError):
            await nc.jetstream(timeout=1).stream_info(stream)
        await reported.wait(f"$JS.API.STREAM.INFO.{stream}")
    finally:
        await nc.close()
    assert await stored_events(guarded) == before


async def test_the_projections_user_cannot_send_a_command(guarded: Guarded) -> None:
    reported = Reported()
    nc = await connect_as(guarded, "projection", reported)
    try:
        subject = f"{NAMESPACE}.cmd.campaign.create"
        with pytest.raises(nats.errors.TimeoutError):
            await nc.request(subject, b"{}", timeout=1)
        assert await reported.wait(subject) == (
            f'nats: permissions violation for publish to "{subject}"'
        )
    finally:
        await nc.close()


async def test_no_user_reads_the_answers_meant_for_another(guarded: Guarded) -> None:
    reported = Reported()
    nc = await connect_as(guarded, "dispatcher", reported)
    try:
        await nc.subscribe("_INBOX.gateway.>")
        await nc.subscribe("_INBOX.>")
        for subject in ("_INBOX.gateway.>", "_INBOX.>"):
            assert await reported.wait(f'"{subject}"') == (
                f'nats: permissions violation for subscription to "{subject.lower()}"'
            )
    finally:
        await nc.close()


# Signed commands: NATS credentials are not enough to command the platform. --------------


def create_campaign_command(campaign_id: str, actor: str = "op-1") -> bytes:
    meta = {"actor": {"id": actor, "role": "admin"}, "correlationId": campaign_id}
    content = {"name": f"forged {campaign_id[:8]}", "type": "message"}
    return json.dumps(
        {"kind": "campaign.create", "meta": meta, "content": content, "campaignId": campaign_id}
    ).encode()


def send_as_gateway(guarded: Guarded, subject: str, payload: bytes, headers: dict | None) -> dict:
    """A request with the gateway's NATS credentials (which permit it), and its answer."""

    async def send() -> dict:
        nc = await connect_as(guarded, "gateway", Reported())
        try:
            reply = await nc.request(subject, payload, timeout=10, headers=headers)
            return json.loads(reply.data)
        finally:
            await nc.close()

    return asyncio.run(send())


def refused(answer: dict, reason: str) -> None:
    assert answer["ok"] is False, answer
    assert answer["error"]["code"] == "COMMAND_NOT_AUTHENTIC", answer
    assert reason in answer["error"]["message"], answer


CREATE = f"{NAMESPACE}.cmd.campaign.create"


def test_a_command_signed_with_the_gateways_key_is_carried_out(
    guarded: Guarded, api: httpx.Client
) -> None:
    # The control: the same request as below, signed as the gateway signs.
    campaign_id = str(uuid.uuid4())
    payload = create_campaign_command(campaign_id)
    signer = CommandSigner(GATEWAY, guarded.keys["GATEWAY_SIGNING_KEY"])
    answer = send_as_gateway(guarded, CREATE, payload, signer.sign(CREATE, payload))
    assert answer["ok"] is True, answer
    # Not through the gateway, so not waited for: the read model shows it soon after.
    wait_until(
        lambda: api.get(f"/api/v1/campaigns/{campaign_id}").status_code == 200,
        timeout=10,
        what="the campaign in the read model",
    )


@pytest.mark.parametrize(
    ("forgery", "reason"),
    [
        ("unsigned", "not signed"),
        ("signed with another key", "does not match its signature"),
        ("another actor than signed", "does not match its signature"),
        ("signed by the dispatcher", "dispatcher may not send campaign.create"),
        ("by a signer nobody trusts", "whom this service does not trust"),
        ("signed two minutes ago", "at most 60 s"),
    ],
)
def test_a_command_not_signed_by_the_gateway_is_refused_and_logged(
    guarded: Guarded,
    api: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    forgery: str,
    reason: str,
) -> None:
    campaign_id = str(uuid.uuid4())
    payload = create_campaign_command(campaign_id)
    gateway = CommandSigner(GATEWAY, guarded.keys["GATEWAY_SIGNING_KEY"])
    match forgery:
        case "unsigned":
            headers = None
        case "signed with another key":
            headers = CommandSigner(GATEWAY, generate_signing_key()).sign(CREATE, payload)
        case "another actor than signed":
            headers = gateway.sign(CREATE, payload)
            payload = create_campaign_command(campaign_id, actor="someone-else")
        case "signed by the dispatcher":
            dispatcher = CommandSigner(DISPATCHER, guarded.keys["DISPATCHER_SIGNING_KEY"])
            headers = dispatcher.sign(CREATE, payload)
        case "by a signer nobody trusts":
            headers = CommandSigner("projection", generate_signing_key()).sign(CREATE, payload)
        case "signed two minutes ago":
            now = time.time()
            monkeypatch.setattr(command_signing.time, "time", lambda: now - 120)
            headers = gateway.sign(CREATE, payload)
            monkeypatch.undo()
    refused(send_as_gateway(guarded, CREATE, payload, headers), reason)
    assert api.get(f"/api/v1/campaigns/{campaign_id}").status_code == 404
    wait_until(
        lambda: any(
            "command.not_authentic" in line and reason in line
            for line in guarded.platform["campaign"].log_path.read_text().splitlines()
        ),
        timeout=10,
        what="the refusal in the campaign service's log",
    )


def test_a_webhooks_secret_cannot_be_rotated_without_the_gateways_signature(
    guarded: Guarded,
) -> None:
    # The security review rotated one with a bare request; the dispatcher now asks who sent it.
    subject = f"{NAMESPACE}.cmd.webhook.rotate_secret"
    meta = {"actor": {"id": "op-1", "role": "admin"}, "correlationId": "rotate"}
    payload = json.dumps(
        {"kind": "webhook.rotate_secret", "meta": meta, "webhookId": str(uuid.uuid4())}
    ).encode()
    refused(send_as_gateway(guarded, subject, payload, None), "not signed")
