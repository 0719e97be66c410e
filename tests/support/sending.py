"""Driving the dispatcher's sending end to end: a platform with settings of its own (its own
database and namespace), an isolated audience per test, a campaign executed through HTTP,
and what the ledger, the delivery event stream and the simulator's record say afterwards."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from psycopg.rows import dict_row

from support.inspect import stream_messages, wait_until
from support.telegram_sim import SimulatorClient, sent_messages
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.jetstream import delete_streams
from telecast_devenv.platform import Platform
from telecast_libs.contracts.base import decode
from telecast_libs.contracts.deliveries import DeliveryEvent
from telecast_libs.subjects import check_namespace, subjects_for

ADMIN = {"email": "admin@telecast.local", "password": "telecast"}
FINAL = ("sent", "failed", "unconfirmed")


@contextmanager
def own_platform(
    server_url: str,
    nats_url: str,
    log_dir: Path,
    env: dict[str, str],
    gateway_env: dict[str, str] | None = None,
) -> Iterator[Platform]:
    """A platform in a database and a namespace of its own (account states, the simulator's
    record and the streams start empty), with ``env`` for every service and ``gateway_env``
    for the gateway alone (one started for production, say)."""
    database = f"telecast_t_{secrets.token_hex(4)}"
    url = create_database(server_url, database)
    namespace = check_namespace(f"t{secrets.token_hex(4)}")
    running = Platform(url, nats_url, namespace, log_dir, env=env)
    running["gateway"].env.update(gateway_env or {})
    try:
        running.start()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()
        asyncio.run(delete_streams(nats_url, f"{namespace.upper()}_"))
        drop_database(server_url, database)


def client(platform: Platform) -> httpx.Client:
    answer = httpx.post(f"{platform.base_url}/api/v1/auth/login", json=ADMIN)
    assert answer.status_code == 200, answer.text
    token = answer.json()["data"]["accessToken"]
    return httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


@dataclass
class Audience:
    batch: str
    segment_id: str
    # telegram id -> first name
    first_names: dict[int, str]


def make_audience(
    api: httpx.Client,
    batch: str,
    telegram_ids: list[int],
    *,
    chat_type: str = "private",
    test_recipients: frozenset[int] = frozenset(),
) -> Audience:
    """Contacts with ``attributes.batch`` = ``batch`` and a segment of exactly them."""
    first_names = {tid: f"Ann{abs(tid)}" for tid in telegram_ids}
    # A cell that looks like a number is stored as one (an import's rule), and a number is
    # not equal to the filter's text: keep the value text ("1e5" from a hex id would not be).
    value = f"batch-{batch}"
    rows = "telegramId,chatType,firstName,isTestRecipient,attributes.batch\n" + "".join(
        f"{tid},{chat_type},{first_names[tid]},{str(tid in test_recipients).lower()},{value}\n"
        for tid in telegram_ids
    )
    answer = api.post(
        "/api/v1/contacts/import", content=rows, headers={"Content-Type": "text/csv"}, timeout=120
    )
    assert answer.status_code == 200, answer.text
    segment = api.post(
        "/api/v1/segments",
        json={
            "name": f"batch {batch}",
            "filter": {"field": "attributes.batch", "op": "eq", "value": value},
        },
    )
    assert segment.status_code == 201, segment.text
    segment_id = segment.json()["data"]["id"]
    wait_until(
        lambda: (
            api.get(f"/api/v1/segments/{segment_id}/count").json()["data"]["count"]
            == len(telegram_ids)
        ),
        timeout=30,
        what="the segment's count",
    )
    return Audience(batch, segment_id, first_names)


def create_campaign(
    api: httpx.Client, audience: Audience, messages: list[str], **fields: Any
) -> str:
    answer = api.post(
        "/api/v1/campaigns",
        json={
            "name": f"sending {audience.batch}",
            "type": "message",
            "targetAudience": {"segments": [audience.segment_id]},
            "messages": [{"content": content} for content in messages],
            **fields,
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["id"]


def execute(api: httpx.Client, campaign_id: str, **options: Any) -> str:
    """Execute; the execution's id."""
    answer = api.post(f"/api/v1/campaigns/{campaign_id}/execute", json=options)
    assert answer.status_code == 200, answer.text
    return detail(api, campaign_id)["execution"]["executionId"]


def detail(api: httpx.Client, campaign_id: str) -> dict:
    return api.get(f"/api/v1/campaigns/{campaign_id}").json()["data"]


def status(api: httpx.Client, campaign_id: str) -> str:
    return detail(api, campaign_id)["status"]


def wait_status(api: httpx.Client, campaign_id: str, wanted: str, timeout: float) -> float:
    """Wait until the campaign is ``wanted``; the seconds it took."""
    started = time.monotonic()
    wait_until(
        lambda: status(api, campaign_id) == wanted,
        timeout=timeout,
        interval=0.25,
        what=f"campaign {campaign_id} {wanted}",
    )
    return time.monotonic() - started


def ledger(database_url: str, execution_id: str) -> list[dict]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT contact_id::text, step, telegram_id, message_id, state, code, account, "
            "telegram_message_id, published FROM dispatcher.deliveries WHERE execution_id = %s",
            (execution_id,),
        ).fetchall()


def query(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()


def simulator_messages(database_url: str, execution_id: str) -> list[dict]:
    """What the simulator accepted for this execution (references start with its id)."""
    return asyncio.run(sent_messages(database_url, "reference LIKE %s", (f"{execution_id}:%",)))


def simulator_count(database_url: str, execution_id: str) -> int:
    return query(
        database_url,
        "SELECT count(*) FROM telegram_sim.messages WHERE reference LIKE %s",
        (f"{execution_id}:%",),
    )[0][0]


async def _delivery_events(platform: Platform) -> list[DeliveryEvent]:
    subjects = subjects_for(platform.namespace)
    nc = await nats.connect(platform.nats_url)
    try:
        js = nc.jetstream()
        subscription = await js.pull_subscribe(
            f"{platform.namespace}.events.delivery.>",
            durable=None,
            stream=subjects.delivery_events_stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        events: list[DeliveryEvent] = []
        while True:
            info = await subscription.consumer_info()
            if info.num_pending == 0:
                break
            batch = await subscription.fetch(min(1000, info.num_pending), timeout=5)
            for message in batch:
                if message.subject.rpartition(".")[2] not in ("sent", "failed"):
                    continue  # an interaction (read, clicked, converted)
                event = decode(message.data, DeliveryEvent)
                assert message.headers and message.headers.get("Nats-Msg-Id") == event.id
                assert message.subject == f"{platform.namespace}.events.{event.type}"
                events.append(event)
        await subscription.unsubscribe()
        return events
    finally:
        await nc.close()


def delivery_events(platform: Platform, execution_id: str) -> list[DeliveryEvent]:
    return [e for e in asyncio.run(_delivery_events(platform)) if e.execution_id == execution_id]


def campaign_events(platform: Platform, campaign_id: str) -> list[tuple[str, dict]]:
    return [
        (envelope["type"], envelope.get("data", {}))
        for envelope, _ in stream_messages(platform.nats_url, platform.namespace)
        if envelope.get("aggregateId") == campaign_id
    ]


def wait_published(database_url: str, execution_id: str, timeout: float = 30) -> None:
    """Until every finished ledger row is published (events are sent from the outbox)."""
    wait_until(
        lambda: (
            query(
                database_url,
                "SELECT count(*) FROM dispatcher.deliveries WHERE execution_id = %s "
                "AND state IN ('sent', 'failed', 'unconfirmed') AND NOT published",
                (execution_id,),
            )[0][0]
            == 0
        ),
        timeout=timeout,
        interval=0.2,
        what="the delivery events published",
    )


def assert_exactly_once(
    platform: Platform, execution_id: str, contacts: int, steps: int
) -> tuple[list[dict], list[DeliveryEvent], list[dict]]:
    """Ledger, delivery events and simulator record agree: one final outcome per contact and
    message, one event per ledger row, the simulator accepted exactly the sent rows once."""
    url = platform.database_url
    wait_published(url, execution_id)
    rows = ledger(url, execution_id)
    assert len(rows) == contacts * steps
    keys = {(r["contact_id"], r["step"]) for r in rows}
    assert len(keys) == contacts * steps
    assert len({r["contact_id"] for r in rows}) == contacts
    unfinished = [r for r in rows if r["state"] not in FINAL]
    assert not unfinished, unfinished[:5]

    events = delivery_events(platform, execution_id)
    assert len(events) == len(rows), (len(events), len(rows))
    by_key = {(e.contact_id, e.message_id): e for e in events}
    assert len(by_key) == len(events), "two events for one delivery"
    for row in rows:
        event = by_key[(row["contact_id"], row["message_id"])]
        wanted = "delivery.sent" if row["state"] == "sent" else "delivery.failed"
        assert event.type == wanted, (row, event)
        assert event.code == row["code"]
        assert event.telegram_id == row["telegram_id"]

    messages = simulator_messages(url, execution_id)
    references = [m["reference"] for m in messages]
    assert len(references) == len(set(references)), "the simulator accepted a reference twice"
    sent = {
        f"{execution_id}:{r['contact_id']}:{r['message_id']}" for r in rows if r["state"] == "sent"
    }
    assert set(references) == sent
    return rows, events, messages


def simulator_control(platform: Platform, action: str, *args: Any, **kwargs: Any) -> Any:
    """Call a ``SimulatorClient`` method (``flood_wait``, ``peer_flood``, ``configure``…) on
    the platform's simulator."""

    async def run() -> Any:
        simulator = await SimulatorClient.connect(platform.telegram_sim_address)
        try:
            return await getattr(simulator, action)(*args, **kwargs)
        finally:
            await simulator.close()

    return asyncio.run(run())


def wait_sent(platform: Platform, execution_id: str, at_least: int) -> None:
    """Until the simulator accepted ``at_least`` messages of the execution."""
    wait_until(
        lambda: simulator_count(platform.database_url, execution_id) >= at_least,
        timeout=60,
        interval=0.05,
        what=f"{at_least} messages accepted",
    )
