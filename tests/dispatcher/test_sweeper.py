"""The leader's sweeper against real PostgreSQL and NATS, with the campaign service played
by a responder of the test's own (it answers, refuses as settled, or says nothing).

What a lost reply leaves behind must be mended by the next sweep, and a step that fails
must not keep the other steps from running: a stuck sweeper stops guards, lost work items
and completions all at once.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import nats
import psycopg
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from telecast_devenv.jetstream import delete_streams
from telecast_dispatcher.sending import metrics
from telecast_dispatcher.sending.campaign_client import CampaignClient
from telecast_dispatcher.sending.sweeper import Sweeper
from telecast_dispatcher.sending.work import PRIORITIES
from telecast_libs import nats as tnats
from telecast_libs.command_signing import DEV_DISPATCHER_SIGNING_KEY, DISPATCHER, CommandSigner
from telecast_libs.contracts.base import encode
from telecast_libs.contracts.errors import ErrorBody
from telecast_libs.contracts.messages import CommandReply
from telecast_libs.pg import open_pool
from telecast_libs.streams import delivery_events_stream, work_stream
from telecast_libs.subjects import Subjects, check_namespace, subjects_for


@dataclass
class CampaignService:
    """Answers the dispatcher's commands as told: ``answer`` is "ok", an error code, or
    None (no answer at all: the request times out)."""

    answer: str | None = "ok"
    received: list[str] = field(default_factory=list)

    async def handle(self, msg: nats.aio.msg.Msg) -> None:
        kind = json.loads(msg.data)["kind"]
        self.received.append(kind)
        if self.answer is None:
            return
        if self.answer == "ok":
            reply = CommandReply(ok=True)
        else:
            reply = CommandReply(ok=False, error=ErrorBody(code=self.answer, message="refused"))
        await msg.respond(encode(reply))


@dataclass
class Harness:
    url: str
    subjects: Subjects
    campaign: CampaignService
    sweeper: Sweeper
    js: nats.js.JetStreamContext

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def execution(self, **columns: object) -> str:
        """An execution row of a campaign of its own, with ``columns`` set."""
        execution_id = str(uuid.uuid4())
        values = {
            "execution_id": execution_id,
            "campaign_id": str(uuid.uuid4()),
            "priority": "normal",
            "test_mode": False,
            "messages": json.dumps([{"id": "m1", "content": "hi"}]),
            "campaign_state": "active",
            "campaign_version": 3,
            "started_at": "2026-01-01T00:00:00Z",
            "planning_done": True,
            **columns,
        }
        names = ", ".join(values)
        marks = ", ".join(["%s"] * len(values))
        self.sql(
            f"INSERT INTO dispatcher.executions ({names}) VALUES ({marks})",
            tuple(values.values()),
        )
        return execution_id

    def told_at(self, execution_id: str) -> object:
        return self.sql(
            "SELECT told_at FROM dispatcher.executions WHERE execution_id = %s", (execution_id,)
        )[0][0]


@pytest.fixture
async def harness(own_database: str, nats_url: str) -> AsyncIterator[Harness]:
    with psycopg.connect(own_database, autocommit=True) as conn:
        conn.execute("TRUNCATE dispatcher.executions, dispatcher.work_items")
    namespace = check_namespace(f"t{secrets.token_hex(4)}")
    subjects = subjects_for(namespace)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await tnats.ensure_stream(js, work_stream(subjects))
    await tnats.ensure_stream(js, delivery_events_stream(subjects))
    for priority in PRIORITIES:
        await js.add_consumer(
            subjects.work_stream,
            ConsumerConfig(
                durable_name=subjects.durable(f"work_{priority}"),
                ack_policy=AckPolicy.EXPLICIT,
                filter_subject=subjects.work(priority),
            ),
        )
    campaign = CampaignService()
    await nc.subscribe(subjects.command("campaign.*"), cb=campaign.handle)
    pool = await open_pool(own_database, min_size=1, max_size=4)
    client = CampaignClient(
        nc, subjects, CommandSigner(DISPATCHER, DEV_DISPATCHER_SIGNING_KEY), timeout=0.5
    )
    try:
        yield Harness(own_database, subjects, campaign, Sweeper(pool, js, subjects, client, []), js)
    finally:
        await pool.close()
        await nc.drain()
        await delete_streams(nats_url, f"{namespace.upper()}_")


async def test_a_completion_the_campaign_service_already_recorded_counts_as_told(
    harness: Harness,
) -> None:
    # The complete request's answer was lost (a timeout, or a kill -9 before told_at was
    # written) and the campaign completed anyway: asked again, it says so.
    execution_id = harness.execution(finished_at="2026-01-01T00:01:00Z")
    harness.campaign.answer = "INVALID_STATE_TRANSITION"

    await harness.sweeper.sweep()

    assert harness.campaign.received == ["campaign.complete"]
    assert harness.told_at(execution_id) is not None
    harness.campaign.received.clear()
    await harness.sweeper.sweep()
    assert harness.campaign.received == []  # told once: never asked again


async def test_a_campaign_gone_meanwhile_counts_as_told(harness: Harness) -> None:
    execution_id = harness.execution(finished_at="2026-01-01T00:01:00Z")
    harness.campaign.answer = "CAMPAIGN_NOT_FOUND"

    await harness.sweeper.sweep()

    assert harness.told_at(execution_id) is not None


async def test_a_completion_that_goes_unanswered_is_asked_again_and_the_other_steps_run(
    harness: Harness,
) -> None:
    untold = harness.execution(finished_at="2026-01-01T00:01:00Z")
    # A guard tripped and the campaign's pause was lost: the sweep after must pause it.
    guarded = harness.execution(
        guard_code="ERROR_RATE", guard_reason="too many errors", planning_done=False
    )
    harness.sql(
        "UPDATE dispatcher.executions SET updated_at = now() - interval '1 minute' "
        "WHERE execution_id = %s",
        (guarded,),
    )
    # A work item of a running execution committed but not on the queue.
    running = harness.execution(planning_done=False)
    harness.sql(
        "INSERT INTO dispatcher.work_items (execution_id, item_no, upto_id, recipients) "
        "VALUES (%s, 0, %s, 10)",
        (running, str(uuid.uuid4())),
    )
    harness.campaign.answer = None  # the campaign service does not answer completions
    failures = metrics.SWEEP_FAILURES.labels(step="tell_finished")._value.get()

    await harness.sweeper.sweep()  # does not raise

    assert harness.told_at(untold) is None
    assert metrics.SWEEP_FAILURES.labels(step="tell_finished")._value.get() == failures + 1
    assert "campaign.pause" in harness.campaign.received
    assert harness.sql(
        "SELECT published FROM dispatcher.work_items WHERE execution_id = %s", (running,)
    ) == [(True,)]
    info = await harness.js.consumer_info(
        harness.subjects.work_stream, harness.subjects.durable("work_normal")
    )
    assert info.num_pending == 1

    # The campaign service answers again: the next sweep tells it.
    harness.campaign.answer = "ok"
    await harness.sweeper.sweep()
    assert harness.told_at(untold) is not None
