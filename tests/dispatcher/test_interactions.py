"""Recording interactions against real PostgreSQL and NATS: clicks over the tracking
endpoint (idempotent on the click id, ``first`` once per recipient), conversions attributed
to the recipient's execution and arms (an unknown recipient is refused), receipts from the
sender, and the table as the outbox of the events (the sweeper publishes what was left).

A database and a namespace of their own: these synthetic ledgers must not reach the other
tests' read models.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import psycopg
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from support import signed

from telecast_devenv.jetstream import delete_streams
from telecast_dispatcher.telegram.port import Receipt
from telecast_dispatcher.tracking.endpoint import tracking_endpoint
from telecast_dispatcher.tracking.interactions import Interactions, republish_interactions
from telecast_dispatcher.tracking.receipts import Receipts
from telecast_libs import nats as tnats
from telecast_libs.command_signing import (
    DEV_GATEWAY_VERIFY_KEY,
    GATEWAY,
    CommandVerifier,
    Trusted,
)
from telecast_libs.contracts.base import decode, encode
from telecast_libs.contracts.deliveries import ArmOf, InteractionEvent
from telecast_libs.contracts.messages import Actor, CommandMeta
from telecast_libs.contracts.replies import Reply
from telecast_libs.contracts.tracking import (
    ClickRecorded,
    ConversionRecorded,
    NewConversion,
    RecordClick,
    RecordConversion,
)
from telecast_libs.pg import open_pool
from telecast_libs.streams import delivery_events_stream
from telecast_libs.subjects import Subjects, subjects_for
from telecast_libs.tracking import TrackedLink, sign

SECRET = "a-test-secret-of-at-least-thirty-two-characters"
BASE = "http://127.0.0.1:8000"
META = CommandMeta(actor=Actor(id="op-1", role="manager"), correlation_id="corr-1")


class Harness:
    def __init__(
        self,
        url: str,
        nc: Any,
        subjects: Subjects,
        interactions: Interactions,
        receipts: Receipts,
    ) -> None:
        self.url = url
        self.nc = nc
        self.subjects = subjects
        self.interactions = interactions
        self.receipts = receipts

    async def ask(self, request: Any, answer: type) -> Reply:
        kind = request.__struct_config__.tag
        msg = await signed.request(self.nc, self.subjects.tracking_command(kind), encode(request))
        return decode(msg.data, Reply[answer])  # type: ignore[valid-type]

    async def events(self) -> list[InteractionEvent]:
        js = self.nc.jetstream()
        subscription = await js.pull_subscribe(
            f"{self.subjects.namespace}.events.delivery.>",
            durable=None,
            stream=self.subjects.delivery_events_stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        found = []
        while (info := await subscription.consumer_info()).num_pending:
            for message in await subscription.fetch(info.num_pending, timeout=5):
                event = decode(message.data, InteractionEvent)
                assert message.headers["Nats-Msg-Id"] == event.id
                assert message.subject == f"{self.subjects.namespace}.events.{event.type}"
                found.append(event)
        await subscription.unsubscribe()
        return found


@pytest.fixture
async def harness(own_database: str, nats_url: str) -> AsyncIterator[Harness]:
    namespace = f"i{secrets.token_hex(4)}"
    subjects = subjects_for(namespace)
    pool = await open_pool(own_database, max_size=4, name="test-interactions")
    nc = await nats.connect(nats_url)
    await tnats.ensure_stream(nc.jetstream(), delivery_events_stream(subjects))
    interactions = Interactions(pool, nc.jetstream(), subjects)
    receipts = Receipts(interactions, tracking_secret=SECRET, tracking_base_url=BASE)
    # Clicks are recorded only if the gateway signed them (support.signed signs as it does).
    verifier = CommandVerifier(subjects.command_prefix, {GATEWAY: Trusted(DEV_GATEWAY_VERIFY_KEY)})
    endpoint = tracking_endpoint(nc, subjects, interactions, verifier)
    await endpoint.start()
    try:
        yield Harness(own_database, nc, subjects, interactions, receipts)
    finally:
        await endpoint.stop()
        await receipts.stop()
        await nc.close()
        await pool.close()
        await delete_streams(nats_url, f"{namespace.upper()}_")


class Ledger:
    """A campaign with executions whose ledger rows are written straight into the table."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.campaign_id = str(uuid.uuid4())

    def execution(self, started_at: datetime) -> str:
        execution_id = str(uuid.uuid4())
        with psycopg.connect(self.url) as conn:
            conn.execute(
                "INSERT INTO dispatcher.executions (execution_id, campaign_id, priority, "
                "test_mode, messages, campaign_state, campaign_version, started_at, "
                "correlation_id) VALUES (%s, %s, 'normal', false, '[]', 'active', 1, %s, 'c')",
                (execution_id, self.campaign_id, started_at),
            )
        return execution_id

    def delivery(
        self,
        execution_id: str,
        contact_id: str,
        telegram_id: int,
        step: int,
        variation_id: str | None = None,
        state: str = "sent",
        segments: tuple[str, ...] = ("seg-a",),
    ) -> int:
        """Its Telegram message id."""
        message_id = 1000 * step + telegram_id % 1000
        with psycopg.connect(self.url) as conn:
            conn.execute(
                "INSERT INTO dispatcher.deliveries (execution_id, contact_id, step, campaign_id, "
                "item_no, telegram_id, chat_kind, message_id, variation_id, segment_ids, state, "
                "account, telegram_message_id, finished_at, published) "
                "VALUES (%s, %s, %s, %s, 0, %s, 'private', %s, %s, %s, %s, 'sim-bot-1', %s, "
                "now(), true)",
                (
                    execution_id,
                    contact_id,
                    step,
                    self.campaign_id,
                    telegram_id,
                    f"msg{step + 1}",
                    variation_id,
                    list(segments),
                    state,
                    message_id if state == "sent" else None,
                ),
            )
        return message_id


def click(execution_id: str, contact_id: str, click_id: str, message: str = "msg1") -> RecordClick:
    return RecordClick(
        click_id=click_id,
        execution_id=execution_id,
        contact_id=contact_id,
        message_id=message,
        url="https://shop.example.com/",
        occurred_at=datetime.now(UTC),
    )


async def test_clicks_are_idempotent_and_first_once_per_recipient(harness: Harness) -> None:
    ledger = Ledger(harness.url)
    execution = ledger.execution(datetime.now(UTC))
    ann, bob = str(uuid.uuid4()), str(uuid.uuid4())
    ledger.delivery(execution, ann, 501, 0, "var1", segments=("seg-a", "seg-b"))
    ledger.delivery(execution, ann, 501, 1)
    ledger.delivery(execution, bob, 502, 0)

    first = await harness.ask(click(execution, ann, "c-1"), ClickRecorded)
    again = await harness.ask(click(execution, ann, "c-1"), ClickRecorded)
    second = await harness.ask(click(execution, ann, "c-2", "msg2"), ClickRecorded)
    other = await harness.ask(click(execution, bob, "c-3"), ClickRecorded)
    assert first.ok and first.data.first and first.data.recorded
    assert again.ok and again.data.id == first.data.id and not again.data.recorded
    assert again.data.first  # the answer is the first record's
    assert second.ok and not second.data.first and second.data.recorded
    assert other.ok and other.data.first

    # Two clicks of one new recipient at once: exactly one of them is the first.
    carl = str(uuid.uuid4())
    ledger.delivery(execution, carl, 503, 0)
    both = await asyncio.gather(
        *(harness.ask(click(execution, carl, f"c-carl-{i}"), ClickRecorded) for i in range(8))
    )
    assert sum(1 for reply in both if reply.data.first) == 1

    events = [e for e in await harness.events() if e.campaign_id == ledger.campaign_id]
    assert sorted(e.id for e in events) == sorted(
        {first.data.id, second.data.id, other.data.id, *(r.data.id for r in both)}
    )
    by_id = {e.id: e for e in events}
    event = by_id[first.data.id]
    assert event.type == "delivery.clicked"
    assert (event.contact_id, event.message_id, event.variation_id) == (ann, "msg1", "var1")
    assert event.segment_ids == ["seg-a", "seg-b"]
    assert event.url == "https://shop.example.com/"
    assert by_id[second.data.id].message_id == "msg2"


async def test_a_click_of_an_unknown_delivery_is_refused(harness: Harness) -> None:
    reply = await harness.ask(click(str(uuid.uuid4()), str(uuid.uuid4()), "c-x"), ClickRecorded)
    assert not reply.ok and reply.error.code == "LINK_NOT_FOUND"
    reply = await harness.ask(click("not-a-uuid", "nor-this", "c-y"), ClickRecorded)
    assert not reply.ok and reply.error.code == "LINK_NOT_FOUND"


async def test_a_conversion_is_attributed_to_the_latest_execution_and_its_arms(
    harness: Harness,
) -> None:
    ledger = Ledger(harness.url)
    now = datetime.now(UTC)
    older, latest = ledger.execution(now - timedelta(days=2)), ledger.execution(now)
    ann, bob = str(uuid.uuid4()), str(uuid.uuid4())
    ledger.delivery(older, ann, 601, 0, "var2", segments=("old",))
    ledger.delivery(latest, ann, 601, 0, "var1", segments=("seg-a",))
    ledger.delivery(latest, ann, 601, 1, segments=("seg-a", "seg-b"))
    ledger.delivery(latest, bob, 602, 0, state="failed")

    def conversion(conversion_id: str, **recipient: Any) -> RecordConversion:
        return RecordConversion(
            meta=META,
            campaign_id=ledger.campaign_id,
            conversion=NewConversion(revenue=12.5, **recipient),
            conversion_id=conversion_id,
        )

    recorded = await harness.ask(conversion("order-123", contact_id=ann), ConversionRecorded)
    assert recorded.ok, recorded.error
    data = recorded.data
    assert (data.execution_id, data.contact_id, data.telegram_id) == (latest, ann, 601)
    assert data.arms == [ArmOf("msg1", "var1"), ArmOf("msg2", None)]
    assert data.segment_ids == ["seg-a", "seg-b"]
    assert data.first and data.recorded and data.revenue == 12.5
    assert data.conversion_id == "order-123"

    again = await harness.ask(conversion("order-123", contact_id=ann), ConversionRecorded)
    assert again.ok and again.data.id == data.id and not again.data.recorded
    by_telegram = await harness.ask(conversion("order-124", telegram_id=601), ConversionRecorded)
    assert by_telegram.ok and by_telegram.data.contact_id == ann
    assert not by_telegram.data.first and by_telegram.data.recorded

    # Bob's message failed; Carl was never sent to; a campaign that sent nothing.
    for refused in (
        conversion("order-200", contact_id=bob),
        conversion("order-201", contact_id=str(uuid.uuid4())),
        conversion("order-202", telegram_id=999_999),
        conversion("order-203", contact_id="not-a-uuid"),
    ):
        reply = await harness.ask(refused, ConversionRecorded)
        assert not reply.ok and reply.error.code == "RECIPIENT_NOT_FOUND", reply
    reply = await harness.ask(
        RecordConversion(
            meta=META,
            campaign_id="nope",
            conversion=NewConversion(contact_id=ann),
            conversion_id="x",
        ),
        ConversionRecorded,
    )
    assert not reply.ok and reply.error.code == "CAMPAIGN_NOT_FOUND"

    events = [e for e in await harness.events() if e.campaign_id == ledger.campaign_id]
    assert sorted(e.id for e in events) == sorted([data.id, by_telegram.data.id])
    event = next(e for e in events if e.id == data.id)
    assert event.type == "delivery.converted" and event.first
    assert event.arms == data.arms and event.conversion_id == "order-123"
    assert event.execution_id == latest and event.revenue == 12.5


async def test_receipts_are_reads_and_clicks_of_their_delivery(harness: Harness) -> None:
    ledger = Ledger(harness.url)
    execution = ledger.execution(datetime.now(UTC))
    ann = str(uuid.uuid4())
    message_id = ledger.delivery(execution, ann, 701, 0, "var1")
    at = datetime.now(UTC)
    read = Receipt("sim-bot-1", 701, message_id, "read", at)
    tracked = f"{BASE}/r/" + sign(
        SECRET, TrackedLink(execution, ann, "msg1", "https://shop.example.com/sale")
    )
    clicked = Receipt("sim-bot-1", 701, message_id, "click", at, url=tracked)
    assert await harness.receipts.record_receipt(read)
    assert await harness.receipts.record_receipt(read)  # the same read
    assert await harness.receipts.record_receipt(clicked)
    # A receipt of a message the ledger does not know (yet): not recorded.
    assert not await harness.receipts.record_receipt(
        Receipt("sim-bot-1", 701, message_id + 1, "read", at)
    )
    # Through the sender's callback, in the background.
    harness.receipts.on_receipt(Receipt("sim-bot-1", 701, message_id, "read", at))
    await harness.receipts.stop()

    events = [e for e in await harness.events() if e.campaign_id == ledger.campaign_id]
    assert sorted(e.type for e in events) == ["delivery.clicked", "delivery.read"]
    for event in events:
        assert (event.contact_id, event.message_id, event.variation_id) == (ann, "msg1", "var1")
        assert event.first
    assert next(e for e in events if e.type == "delivery.clicked").url == (
        "https://shop.example.com/sale"
    )


async def test_the_sweeper_publishes_what_was_left_unpublished(harness: Harness) -> None:
    ledger = Ledger(harness.url)
    execution = ledger.execution(datetime.now(UTC))
    ann = str(uuid.uuid4())
    ledger.delivery(execution, ann, 801, 0)
    reply = await harness.ask(click(execution, ann, "c-lost"), ClickRecorded)
    # As if the process died between the commit and the publish.
    with psycopg.connect(harness.url) as conn:
        conn.execute(
            "UPDATE dispatcher.interactions SET published = false, "
            "recorded_at = now() - interval '1 minute' WHERE id = %s",
            (reply.data.id,),
        )
    pool = harness.interactions.pool
    js = harness.nc.jetstream()
    assert await republish_interactions(pool, js, harness.subjects, older_than_seconds=10) == 1
    assert await republish_interactions(pool, js, harness.subjects, older_than_seconds=10) == 0
    # Everything of the execution again (after a stream lost messages): still one event.
    assert (
        await republish_interactions(
            pool, js, harness.subjects, older_than_seconds=0, execution_id=execution
        )
        == 1
    )
    events = [e for e in await harness.events() if e.campaign_id == ledger.campaign_id]
    assert [e.id for e in events] == [reply.data.id]
    with psycopg.connect(harness.url) as conn:
        [(published,)] = conn.execute(
            "SELECT published FROM dispatcher.interactions WHERE id = %s", (reply.data.id,)
        ).fetchall()
    assert published
