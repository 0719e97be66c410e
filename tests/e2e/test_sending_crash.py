"""Crash safety of sending: dispatcher replicas killed with SIGKILL mid-run send nobody a
message twice, leave every delivery with one final outcome in the ledger and one event on
the stream, and keep Telegram's limits while a survivor takes the dead replica's account
over; delivery events lost after the commit are published again from the ledger."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import psycopg
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from support.inspect import wait_until
from support.telegram_sim import (
    duplicates_by_reference,
    duplicates_by_text,
    limit_violations,
    sent_messages,
    sent_rows,
)

from telecast_devenv import Infra
from telecast_devenv.databases import create_database, drop_database
from telecast_devenv.jetstream import delete_streams
from telecast_devenv.platform import Platform, Service
from telecast_dispatcher.sending.runs import RunSettings
from telecast_libs.contracts.deliveries import delivery_event_id
from telecast_libs.failpoints import EXIT_CODE
from telecast_libs.subjects import check_namespace, subjects_for

pytestmark = pytest.mark.e2e

ADMIN = {"email": "admin@telecast.local", "password": "telecast"}
ACCOUNTS = ("crash-a", "crash-b")
RATE = 50  # messages per second per account: the dispatcher's and the simulator's
LEASE_TTL = 3.0
# Slow enough that a run lasts a while, fast enough that the test does not.
SLOW_SENDING = {
    "TELEGRAM_SIM_ACCOUNTS": ",".join(ACCOUNTS),
    "TELEGRAM_BOT_RATE": str(RATE),
    "TELEGRAM_SIM_ACCOUNT_RATE": str(RATE),
    "SEND_LEASE_TTL_SECONDS": str(LEASE_TTL),
    "SEND_ITEM_SIZE": "200",
    # Sends spend a while in flight, so that a kill finds some accepted by Telegram whose
    # answer never reached the ledger.
    "TELEGRAM_SIM_LATENCY_MS": "150",
    "TELEGRAM_SIM_JITTER_MS": "100",
}
RECIPIENTS = 2000
KILL_AFTER_ACCEPTED = 425  # mid-way through a second's sends
CLAIM_SECONDS = RunSettings().claim_seconds


# The platform, the audience and the campaign -----------------------------------------------


@contextmanager
def platform_of_its_own(
    infra: Infra, log_dir: Path, env: dict[str, str], replicas: int = 1
) -> Iterator[Platform]:
    """A platform in a database and a namespace of its own (the lease bucket is created
    with this test's TTL, the simulator's record starts empty), with ``replicas``
    dispatcher processes (``dispatcher``, ``dispatcher2``, …)."""
    database = f"telecast_t_{secrets.token_hex(4)}"
    url = create_database(infra.database_url, database)
    namespace = check_namespace(f"t{secrets.token_hex(4)}")
    running = Platform(url, infra.nats_url, namespace, log_dir, env=env)
    for n in range(2, replicas + 1):
        running.add_replica("dispatcher", f"dispatcher{n}")
    try:
        running.start()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()
        asyncio.run(delete_streams(infra.nats_url, f"{namespace.upper()}_"))
        drop_database(infra.database_url, database)


def api_client(platform: Platform) -> httpx.Client:
    answer = httpx.post(f"{platform.base_url}/api/v1/auth/login", json=ADMIN)
    assert answer.status_code == 200, answer.text
    token = answer.json()["data"]["accessToken"]
    return httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def execute_campaign(platform: Platform, api: httpx.Client, recipients: int) -> tuple[str, str]:
    """Import ``recipients`` private chats, execute a one-message campaign to them: the
    campaign's id and its execution's."""
    rows = "".join(f"{100_000 + i},private,User{i}\n" for i in range(recipients))
    answer = api.post(
        "/api/v1/contacts/import",
        content="telegramId,chatType,firstName\n" + rows,
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code in (200, 201, 202), answer.text
    answer = api.post(
        "/api/v1/campaigns",
        json={
            "name": "Crash",
            "type": "message",
            "messages": [{"content": "Hello {{firstName}}!"}],
        },
    )
    assert answer.status_code == 201, answer.text
    campaign_id = answer.json()["data"]["id"]
    answer = api.post(f"/api/v1/campaigns/{campaign_id}/execute", json={})
    assert answer.status_code in (200, 202), answer.text

    def execution() -> str | None:
        with psycopg.connect(platform.database_url) as conn:
            row = conn.execute(
                "SELECT execution_id::text FROM dispatcher.executions WHERE campaign_id = %s",
                (campaign_id,),
            ).fetchone()
        return row[0] if row else None

    wait_until(lambda: execution() is not None, timeout=30, what="the execution to be planned")
    return campaign_id, execution()


def campaign_status(api: httpx.Client, campaign_id: str) -> str:
    answer = api.get(f"/api/v1/campaigns/{campaign_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["status"]


def accepted_count(platform: Platform, execution_id: str) -> int:
    with psycopg.connect(platform.database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM telegram_sim.messages WHERE reference LIKE %s",
            (f"{execution_id}:%",),
        ).fetchone()[0]


def ledger(platform: Platform, execution_id: str) -> list[dict]:
    with psycopg.connect(platform.database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(
            "SELECT contact_id::text, step, message_id, state, code, account, published "
            "FROM dispatcher.deliveries WHERE execution_id = %s",
            (execution_id,),
        ).fetchall()


def claimed_now(platform: Platform, execution_id: str) -> set[str]:
    """Contacts whose rows are claimed (``sending``) at this moment."""
    with psycopg.connect(platform.database_url) as conn:
        rows = conn.execute(
            "SELECT contact_id::text FROM dispatcher.deliveries "
            "WHERE execution_id = %s AND state = 'sending'",
            (execution_id,),
        ).fetchall()
    return {row[0] for row in rows}


# What NATS holds --------------------------------------------------------------------------


async def _delivery_events(nats_url: str, namespace: str) -> list[dict]:
    subjects = subjects_for(namespace)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        subscription = await js.pull_subscribe(
            subjects.event("delivery.>"),
            durable=None,
            stream=subjects.delivery_events_stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        events: list[dict] = []
        while (await subscription.consumer_info()).num_pending > 0:
            batch = await subscription.fetch(1000, timeout=5)
            events += [json.loads(m.data) for m in batch]
        await subscription.unsubscribe()
        return events
    finally:
        await nc.close()


def delivery_events(platform: Platform) -> list[dict]:
    """Every delivery event on the namespace's delivery events stream."""
    return asyncio.run(_delivery_events(platform.nats_url, platform.namespace))


async def _leases(nats_url: str, namespace: str) -> dict[str, str]:
    nc = await nats.connect(nats_url)
    try:
        kv = await nc.jetstream().key_value(subjects_for(namespace).account_leases_bucket)
        held = {}
        for account in ACCOUNTS:
            try:
                entry = await kv.get(account)
            except Exception:
                continue
            if entry.value:
                held[account] = entry.value.decode()
        return held
    finally:
        await nc.close()


def replica_id(service: Service) -> str:
    """The replica id the dispatcher process last started with (from its log)."""
    found = [
        json.loads(line)["replica"]
        for line in service.log_path.read_text().splitlines()
        if '"sending.started"' in line
    ]
    assert found, service.log_tail()
    return found[-1]


def is_leader(service: Service) -> bool:
    text = httpx.get(f"http://127.0.0.1:{service.port}/metrics", timeout=5).text
    return re.search(r"^telecast_dispatcher_sending_leader 1(\.0)?$", text, re.M) is not None


# Assertions -------------------------------------------------------------------------------


def assert_sent_once_and_recorded(
    platform: Platform, execution_id: str, recipients: int, unconfirmable: set[str]
) -> list[dict]:
    """The invariants after a run that survived a crash; returns the ledger rows."""
    rows = ledger(platform, execution_id)
    states = Counter(row["state"] for row in rows)
    print(f"ledger: {dict(states)}")
    # One final row per (execution, contact, message).
    assert len(rows) == recipients
    assert len({(r["contact_id"], r["step"]) for r in rows}) == recipients
    assert set(states) <= {"sent", "failed", "unconfirmed"}, states

    messages = asyncio.run(
        sent_messages(platform.database_url, "reference LIKE %s", (f"{execution_id}:%",))
    )
    assert duplicates_by_reference(messages) == {}
    assert duplicates_by_text(messages) == {}
    by_reference = {f"{execution_id}:{r['contact_id']}:{r['message_id']}": r for r in rows}
    accepted = {m["reference"] for m in messages}
    # What Telegram took is sent, or unconfirmed (its answer died with the replica).
    assert accepted <= set(by_reference), accepted - set(by_reference)
    wrong = {ref: by_reference[ref]["state"] for ref in accepted}
    assert set(wrong.values()) <= {"sent", "unconfirmed"}, Counter(wrong.values())
    # And what the ledger says was sent, Telegram took.
    sent = {ref for ref, row in by_reference.items() if row["state"] == "sent"}
    assert sent <= accepted, len(sent - accepted)
    # An unconfirmed delivery was claimed by the dead replica when it died.
    unconfirmed = {r["contact_id"] for r in rows if r["state"] == "unconfirmed"}
    assert all(r["code"] == "DELIVERY_UNCONFIRMED" for r in rows if r["state"] == "unconfirmed")
    assert unconfirmed <= unconfirmable, len(unconfirmed - unconfirmable)
    accepted_unconfirmed = sum(1 for ref in accepted if by_reference[ref]["state"] != "sent")
    never_sent = len(unconfirmed) - accepted_unconfirmed
    print(
        f"unconfirmed: {len(unconfirmed)} (of {len(unconfirmable)} claimed at the kill; "
        f"{accepted_unconfirmed} of them were in fact accepted by the simulator, "
        f"{never_sent} never sent)"
    )
    # What a crash costs: the claims waiting for an account (at most CLAIM_SECONDS of the
    # replica's rate) and the sends in flight (at most each account's window, one second of
    # its rate). Everything else claimed was sent and answered before the kill.
    assert never_sent <= len(ACCOUNTS) * RATE * (1 + CLAIM_SECONDS), never_sent

    violations = limit_violations(
        sent_rows(messages), per_account=RATE, private_per_second=1, group_per_minute=20
    )
    assert violations == [], violations[:5]
    return rows


def assert_one_event_per_delivery(platform: Platform, execution_id: str, rows: list[dict]) -> None:
    wait_until(
        lambda: all(row["published"] for row in ledger(platform, execution_id)),
        timeout=60,
        what="every outcome to be published",
    )
    events = [e for e in delivery_events(platform) if e["executionId"] == execution_id]
    ids = Counter(e["id"] for e in events)
    assert [i for i, n in ids.items() if n > 1] == []
    expected = {
        delivery_event_id(execution_id, r["contact_id"], r["message_id"]): r["state"] for r in rows
    }
    assert set(ids) == set(expected)
    for event in events:
        state = expected[event["id"]]
        assert event["type"] == ("delivery.sent" if state == "sent" else "delivery.failed")


def wait_completed(api: httpx.Client, campaign_id: str, platform: Platform) -> None:
    wait_until(
        lambda: campaign_status(api, campaign_id) == "completed",
        timeout=240,
        interval=0.5,
        what=f"the campaign to complete\n{platform.logs()}",
    )


def takeover_seconds(
    platform: Platform, execution_id: str, account: str, killed: datetime
) -> float:
    """From the kill to the first message sent from ``account`` after it fell silent (sends
    the dead process had under way may still be accepted just after the kill)."""
    times = [
        m["accepted_at"]
        for m in asyncio.run(
            sent_messages(
                platform.database_url,
                "reference LIKE %s AND account = %s",
                (f"{execution_id}:%", account),
            )
        )
    ]
    before = [t for t in times if t <= killed]
    previous = before[-1] if before else killed
    for at in times[len(before) :]:
        if (at - previous).total_seconds() > 0.5:
            return (at - killed).total_seconds()
        previous = at
    raise AssertionError(f"{account} never fell silent after the kill, or never sent again")


# The tests --------------------------------------------------------------------------------


def test_replica_killed_mid_run_its_accounts_taken_over_nothing_sent_twice(
    infra: Infra, tmp_path: Path
) -> None:
    with platform_of_its_own(infra, tmp_path, SLOW_SENDING, replicas=2) as platform:
        first, second = platform["dispatcher"], platform["dispatcher2"]
        with api_client(platform) as api:
            campaign_id, execution_id = execute_campaign(platform, api, RECIPIENTS)
            wait_until(
                lambda: accepted_count(platform, execution_id) >= KILL_AFTER_ACCEPTED,
                timeout=60,
                what="some hundreds of messages to be accepted",
            )
            # The leader dies: the survivor takes its accounts, its items and the lead.
            victim, survivor = (first, second) if is_leader(first) else (second, first)
            dead_id = replica_id(victim)
            leases = asyncio.run(_leases(platform.nats_url, platform.namespace))
            dead_accounts = [a for a, holder in leases.items() if holder == dead_id]
            assert dead_accounts, f"the victim held no account: {leases}"
            victim.kill()
            killed = datetime.now(UTC)
            unconfirmable = claimed_now(platform, execution_id)
            print(
                f"killed {victim.name} (accounts {dead_accounts}) after "
                f"{accepted_count(platform, execution_id)} accepted; "
                f"{len(unconfirmable)} deliveries claimed at that moment"
            )
            wait_completed(api, campaign_id, platform)
            rows = assert_sent_once_and_recorded(platform, execution_id, RECIPIENTS, unconfirmable)
            for account in dead_accounts:
                seconds = takeover_seconds(platform, execution_id, account, killed)
                print(f"takeover of {account}: {seconds:.2f} s after the kill")
            assert_one_event_per_delivery(platform, execution_id, rows)
            # The survivor holds every account now.
            leases = asyncio.run(_leases(platform.nats_url, platform.namespace))
            assert leases == dict.fromkeys(ACCOUNTS, replica_id(survivor))


def test_only_replica_killed_mid_run_and_restarted_sends_nothing_twice(
    infra: Infra, tmp_path: Path
) -> None:
    with platform_of_its_own(infra, tmp_path, SLOW_SENDING) as platform:
        dispatcher = platform["dispatcher"]
        with api_client(platform) as api:
            campaign_id, execution_id = execute_campaign(platform, api, RECIPIENTS)
            wait_until(
                lambda: accepted_count(platform, execution_id) >= KILL_AFTER_ACCEPTED,
                timeout=60,
                what="some hundreds of messages to be accepted",
            )
            dispatcher.kill()
            killed = datetime.now(UTC)
            unconfirmable = claimed_now(platform, execution_id)
            print(
                f"killed the only dispatcher after {accepted_count(platform, execution_id)} "
                f"accepted; {len(unconfirmable)} deliveries claimed at that moment"
            )
            dispatcher.start()
            dispatcher.wait_ready()
            wait_completed(api, campaign_id, platform)
            rows = assert_sent_once_and_recorded(platform, execution_id, RECIPIENTS, unconfirmable)
            for account in ACCOUNTS:
                seconds = takeover_seconds(platform, execution_id, account, killed)
                print(f"{account} sending again {seconds:.2f} s after the kill")
            assert_one_event_per_delivery(platform, execution_id, rows)


def test_outcomes_published_again_from_the_ledger_once_each(infra: Infra, tmp_path: Path) -> None:
    recipients = 300
    fast = {
        "TELEGRAM_SIM_ACCOUNTS": ACCOUNTS[0],
        "TELEGRAM_BOT_RATE": "0",
        "TELEGRAM_SIM_ACCOUNT_RATE": "0",
    }
    with platform_of_its_own(infra, tmp_path, fast) as platform:
        with api_client(platform) as api:
            campaign_id, execution_id = execute_campaign(platform, api, recipients)
            wait_completed(api, campaign_id, platform)
            rows = ledger(platform, execution_id)
            assert len(rows) == recipients
            assert_one_event_per_delivery(platform, execution_id, rows)

            # As if every publish after the commit had been lost: the sweeper publishes
            # them again, and JetStream's duplicate window keeps one of each.
            with psycopg.connect(platform.database_url) as conn:
                conn.execute(
                    "UPDATE dispatcher.deliveries SET published = false WHERE execution_id = %s",
                    (execution_id,),
                )
            assert_one_event_per_delivery(platform, execution_id, rows)

            # NATS lost the stream: the command re-creates it from the ledger, one event
            # per delivery.
            dispatcher = platform["dispatcher"]
            dispatcher.stop()
            asyncio.run(_delete_stream(platform))
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "telecast_dispatcher",
                    "republish-deliveries",
                    "--execution",
                    execution_id,
                ],
                env=dispatcher.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert f"published {recipients} delivery events" in done.stdout, done.stdout
            assert_one_event_per_delivery(platform, execution_id, rows)
            dispatcher.start()
            dispatcher.wait_ready()


async def _delete_stream(platform: Platform) -> None:
    nc = await nats.connect(platform.nats_url)
    try:
        await nc.jetstream().delete_stream(subjects_for(platform.namespace).delivery_events_stream)
    finally:
        await nc.close()


def test_a_completion_whose_answer_died_with_the_dispatcher_is_told_after_its_restart(
    infra: Infra, tmp_path: Path
) -> None:
    # The dispatcher dies after the campaign service recorded the completion and before
    # it noted that it had told it: after the restart, the sweeper asks again, hears that
    # the campaign is completed already, and takes that as told (it used to crash on that
    # answer and restart the leader about once a second, forever).
    fast = {
        "TELEGRAM_SIM_ACCOUNTS": ACCOUNTS[0],
        "TELEGRAM_BOT_RATE": "0",
        "TELEGRAM_SIM_ACCOUNT_RATE": "0",
        "TELECAST_FAILPOINTS": "dispatcher.before_told",
    }
    with platform_of_its_own(infra, tmp_path, fast) as platform:
        dispatcher = platform["dispatcher"]
        with api_client(platform) as api:
            campaign_id, execution_id = execute_campaign(platform, api, 50)
            assert dispatcher.wait_exit(60) == EXIT_CODE
            wait_completed(api, campaign_id, platform)

            def told() -> bool:
                with psycopg.connect(platform.database_url) as conn:
                    return conn.execute(
                        "SELECT told_at IS NOT NULL FROM dispatcher.executions "
                        "WHERE execution_id = %s",
                        (execution_id,),
                    ).fetchone()[0]

            assert not told()
            restarted_at = dispatcher.log_path.stat().st_size
            dispatcher.start(TELECAST_FAILPOINTS="")
            dispatcher.wait_ready()
            wait_until(told, timeout=30, what="the completion to be told")
            # A second campaign runs through the same leader: it was not left looping.
            second_id, _ = execute_campaign(platform, api, 20)
            wait_completed(api, second_id, platform)
            after = dispatcher.log_path.read_text()[restarted_at:]
            assert "campaign.command_settled" in after
            assert "sending_leader.restarting" not in after
            assert "sweep.step_failed" not in after
