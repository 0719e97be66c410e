"""The intake and the delivery worker in this process, against real PostgreSQL, NATS and an
HTTP receiver: order per campaign under retries, concurrency limits, and an outbox that
records a re-published event once.

A database and a namespace of their own: the synthetic events published here must not
reach the other tests' read models.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import nats
import psycopg
import pytest
from support.webhook_receiver import Answer, Received, Receiver, running_receiver

from telecast_devenv.jetstream import delete_streams
from telecast_dispatcher.webhooks.delivery import DeliveryWorker
from telecast_dispatcher.webhooks.intake import WebhookIntake
from telecast_dispatcher.webhooks.retries import DisablePolicy, RetryPolicy
from telecast_dispatcher.webhooks.signing import verify
from telecast_dispatcher.webhooks.subscriptions import Subscriptions
from telecast_dispatcher.webhooks.targets import TargetPolicy
from telecast_libs import nats as tnats
from telecast_libs.contracts.base import encode
from telecast_libs.contracts.events import DomainEvent, event_from
from telecast_libs.contracts.messages import Actor, CommandMeta
from telecast_libs.contracts.webhooks import CreateWebhook, NewWebhook
from telecast_libs.pg import open_pool
from telecast_libs.sealing import Sealer, generate_key
from telecast_libs.streams import campaign_events_stream
from telecast_libs.subjects import subjects_for

CAMPAIGNS = 20
VERSIONS = 5
PER_SUBSCRIPTION = 4


SEALER = Sealer(generate_key())


@pytest.fixture
async def own_namespace(nats_url: str) -> AsyncIterator[str]:
    name = f"w{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        await delete_streams(nats_url, f"{name.upper()}_")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def envelope(campaign_id: str, version: int) -> DomainEvent:
    kind = "campaign.created" if version == 1 else "campaign.updated"
    data = (
        {"campaign": {"name": f"c{campaign_id[:4]}", "type": "message"}}
        if version == 1
        else {"changes": {"name": f"v{version}"}}
    )
    return event_from(
        kind,
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{campaign_id}:{version}")),
        aggregate_id=campaign_id,
        aggregate_version=version,
        occurred_at=datetime.now(UTC),
        position=version,
        data=data,
    )


async def test_order_per_campaign_concurrency_and_an_idempotent_outbox(
    own_database: str, own_namespace: str, nats_url: str, receiver: Receiver
) -> None:
    def script(request: Received, seen: int) -> Answer:
        # Every campaign's second event fails twice: its later events must wait for it.
        if request.body["campaign"]["version"] == 2 and seen < 2:
            return Answer(500, delay=0.01)
        return Answer(200, delay=0.02)

    receiver.on("pipeline", script)
    subjects = subjects_for(own_namespace)
    pool = await open_pool(own_database, max_size=6, name="test")
    nc = await nats.connect(nats_url, name="test")
    js = nc.jetstream()
    await tnats.ensure_stream(js, campaign_events_stream(subjects))
    policy = TargetPolicy.from_setting("127.0.0.1:*")
    worker = DeliveryWorker(
        pool,
        own_database,
        policy,
        RetryPolicy(base=0.05, factor=2, max_delay=0.2, jitter=0.1, max_attempts=10, window=60),
        DisablePolicy(failures=1000, span=3600),
        timeout=2.0,
        concurrency=16,
        per_subscription=PER_SUBSCRIPTION,
        poll_interval=0.1,
        retention_days=1,
        sealer=SEALER,
    )
    subscriptions = Subscriptions(pool, policy, 3600, on_reactivated=worker.wake, sealer=SEALER)
    meta = CommandMeta(actor=Actor(id="test"), correlation_id="test")
    webhook = await subscriptions.create(
        CreateWebhook(
            meta=meta,
            webhook=NewWebhook(
                url=receiver.url("pipeline"), events=["campaign.created", "campaign.updated"]
            ),
        )
    )
    intake = WebhookIntake(pool, js, subjects, own_database, 50, on_enqueued=worker.wake)
    tasks = [asyncio.create_task(intake.run()), asyncio.create_task(worker.run())]
    campaigns = [str(uuid.uuid4()) for _ in range(CAMPAIGNS)]
    events = [envelope(cid, version) for version in range(1, VERSIONS + 1) for cid in campaigns]
    try:
        for event in events:
            await js.publish(
                f"{own_namespace}.events.{event.type}",
                encode(event),
                headers={"Nats-Msg-Id": event.id},
            )

        async def all_acknowledged() -> None:
            while len({r.event_id for r in receiver.at("pipeline")}) < len(events):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(all_acknowledged(), timeout=60)
        acknowledged = receiver.at("pipeline")
        assert len(acknowledged) == len(events)
        for cid in campaigns:
            versions = [
                r.body["campaign"]["version"]
                for r in acknowledged
                if r.body["campaign"]["id"] == cid
            ]
            assert versions == list(range(1, VERSIONS + 1)), (cid, versions)
        # Lanes ran side by side, never more than the per-subscription limit at once.
        assert 1 < receiver.concurrency["pipeline"] <= PER_SUBSCRIPTION

        requests_before = len(receiver.at("pipeline", status=None))
        # The same events published again (as `republish` would, past JetStream's duplicate
        # window): the outbox already holds them, nothing goes out twice.
        for event in events[:10]:
            await js.publish(
                f"{own_namespace}.events.{event.type}",
                encode(event),
                headers={"Nats-Msg-Id": f"again-{event.id}"},
            )
        await asyncio.sleep(1.0)
        assert len(receiver.at("pipeline", status=None)) == requests_before
        assert len(receiver.at("pipeline")) == len(events)
        async with await psycopg.AsyncConnection.connect(own_database) as conn:
            rows = await (
                await conn.execute(
                    "SELECT status, count(*) FROM dispatcher.webhook_deliveries "
                    "WHERE subscription_id = %s GROUP BY status",
                    (uuid.UUID(webhook.id),),
                )
            ).fetchall()
        assert dict(rows) == {"succeeded": len(events)}
        # The secret is sealed at rest, and deliveries are signed with the secret itself.
        async with await psycopg.AsyncConnection.connect(own_database) as conn:
            (stored,) = await (
                await conn.execute(
                    "SELECT secret FROM dispatcher.webhook_subscriptions WHERE id = %s",
                    (uuid.UUID(webhook.id),),
                )
            ).fetchone()
        assert stored.startswith("sealed:v1:") and webhook.secret not in stored
        record = acknowledged[0]
        assert verify(webhook.secret, record.signature, record.raw)
    finally:
        await worker.stop(grace=2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await nc.close()
        await pool.close()
