"""Chaos: each part of the platform killed mid-send, in turn, and each time the campaign
completes by itself, nobody gets a message twice, and the statistics equal the ledger.

The platform runs on a nats-server and a PostgreSQL of the module's own, so that they can be
killed without touching the machine's shared servers (the module uses none of them). The
Telegram simulator keeps its record on a second PostgreSQL of the module's that stays up:
Telegram does not go down with ours, and the record of what it accepted must outlive our
database's crash to judge it.

One platform for the module, one campaign per fault (1,500 private chats, two accounts at
50 messages/s each: about 15 s of sending), so that each fault's figures are its own and
a fault that breaks its campaign leaves the others to be judged. Each part dies as in a
crash and comes back at once, as a supervisor brings it back:

- the dispatcher: kill -9 after 400 messages, started again;
- the campaign service: kill -9 just before the last messages, started again (the
  dispatcher finishes while it is down, and its "complete" finds nobody to answer);
- the projection: kill -9 after 500 messages, started again;
- nats-server: kill -9 after 500 messages, started again on its store;
- PostgreSQL: stopped in immediate mode after 500 messages (no checkpoint: it recovers
  from its WAL), started again on its port.

Then: every recipient has exactly one final outcome in the ledger and one delivery event;
what the simulator accepted was accepted once, and is `sent` or `unconfirmed` (its answer
was lost in the fault) in the ledger; nothing the ledger calls sent is missing from it;
Telegram's limits held; the statistics and the progress through HTTP equal the ledger; the
recipients left unconfirmed and never sent stay within what a crash may cost
(docs/dispatcher.md).

Measured, printed (run with -s) and recorded in docs/benchmarks.md ("Recovery"), never
asserted (the machine is shared and noisy): seconds from the fault until the part is back,
until sending resumes (the simulator accepts again after the stall, if sending stopped at
all), until the statistics hold every outcome the ledger held once the platform was
whole again (the part back and sending resumed), and until the campaign shows completed;
how many recipients ended `unconfirmed`, and how many of those Telegram never got.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from support.inspect import wait_until
from support.sending import (
    FINAL,
    create_campaign,
    delivery_events,
    execute,
    ledger,
    make_audience,
    query,
    simulator_count,
    simulator_messages,
    wait_published,
)
from support.telegram_sim import (
    duplicates_by_reference,
    duplicates_by_text,
    limit_violations,
    sent_rows,
)

from telecast_devenv.databases import create_database
from telecast_devenv.embedded import EmbeddedNats, EmbeddedPostgres
from telecast_devenv.platform import Platform, free_port
from telecast_dispatcher.sending.runs import RunSettings

pytestmark = pytest.mark.e2e

RATE = 50  # messages per second per account: the dispatcher's and the simulator's
ACCOUNTS = ("chaos-a", "chaos-b")
RECIPIENTS = 1500
# Lease and redelivery times are the defaults: the recovery measured is what ships.
ENV = {
    "TELEGRAM_SIM_ACCOUNTS": ",".join(ACCOUNTS),
    "TELEGRAM_BOT_RATE": str(RATE),
    "TELEGRAM_SIM_ACCOUNT_RATE": str(RATE),
    "SEND_ITEM_SIZE": "200",
    # Sends spend a while in flight, so that a fault finds some accepted by Telegram whose
    # answer never reached the ledger.
    "TELEGRAM_SIM_LATENCY_MS": "150",
    "TELEGRAM_SIM_JITTER_MS": "100",
}
# What a fault may cost in recipients who never get the message (docs/dispatcher.md, "What a
# crash costs"): the claims waiting for an account (SEND_CLAIM_SECONDS of the rate) and the
# sends in flight (each account's window: one second of its rate).
NEVER_SENT_BOUND = len(ACCOUNTS) * RATE * (1 + RunSettings().claim_seconds)
# A pause in the simulator's record longer than this, beginning within STALL_WINDOW of the
# fault, is the stall the fault caused (at 100 messages/s sends are ~10 ms apart).
STALL = timedelta(seconds=0.5)
STALL_WINDOW = timedelta(seconds=5)


@dataclass
class Chaos:
    platform: Platform
    postgres: EmbeddedPostgres
    nats: EmbeddedNats
    simulator_url: str  # the simulator's record, on a PostgreSQL that stays up


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chaos]:
    state = tmp_path_factory.mktemp("chaos")
    # PostgreSQL runs as another user (pgserver's, when we are root), which must reach its
    # data: not under pytest's temporary root, whose mode every pytest session resets to 0700.
    clusters = Path(tempfile.mkdtemp(prefix="telecast-chaos-"))
    postgres = EmbeddedPostgres(clusters / "platform")
    simulator_postgres = EmbeddedPostgres(clusters / "telegram")
    nats_server = EmbeddedNats(state / "nats", free_port(), keep_store=False)
    try:
        database_url = create_database(postgres.start(), "telecast")
        simulator_url = create_database(simulator_postgres.start(), "telegram")
        nats_server.start()
        (state / "logs").mkdir()
        platform = Platform(database_url, nats_server.url, "chaos", state / "logs", env=ENV)
        platform["telegram_sim"].env["DATABASE_URL"] = simulator_url
        try:
            platform.start()
            yield Chaos(platform, postgres, nats_server, simulator_url)
        except BaseException:
            print(platform.logs())
            raise
        finally:
            platform.stop()
    finally:
        nats_server.stop()
        postgres.stop()
        simulator_postgres.stop()
        shutil.rmtree(clusters, ignore_errors=True)


@pytest.fixture(scope="module")
def platform(chaos: Chaos) -> Platform:
    """For conftest's ``api``: an administrator's client of this platform."""
    return chaos.platform


# The faults ---------------------------------------------------------------------------------


def restart_service(name: str) -> Callable[[Chaos], None]:
    def strike(chaos: Chaos) -> None:
        service = chaos.platform[name]
        service.kill()
        service.start()
        service.wait_ready(timeout=60)

    return strike


def restart_nats(chaos: Chaos) -> None:
    chaos.nats.kill()
    chaos.nats.start()


def restart_postgres(chaos: Chaos) -> None:
    chaos.postgres.crash()
    chaos.postgres.start_again()


@dataclass(frozen=True)
class Fault:
    name: str
    kill_after: int  # messages the simulator accepted before the fault
    strike: Callable[[Chaos], None]  # kill the part and bring it back; returns once back


FAULTS = [
    Fault("dispatcher", 400, restart_service("dispatcher")),
    Fault("campaign", RECIPIENTS - 60, restart_service("campaign")),
    Fault("projection", 500, restart_service("projection")),
    Fault("nats-server", 500, restart_nats),
    Fault("postgresql", 500, restart_postgres),
]


# Watching through HTTP while parts are down ---------------------------------------------------


def read(api: httpx.Client, path: str) -> dict | None:
    """The answer's data, or None while the platform cannot answer."""
    try:
        answer = api.get(path, timeout=5)
    except httpx.HTTPError:
        return None
    return answer.json()["data"] if answer.status_code == 200 else None


class StatisticsSampler:
    """``overview.messagesSent`` through HTTP every 0.2 s, in a thread of its own, as
    (time, count); count is None while the statistics cannot be read."""

    def __init__(self, api: httpx.Client, campaign_id: str) -> None:
        self.samples: list[tuple[datetime, int | None]] = []
        self._client = httpx.Client(base_url=api.base_url, headers=api.headers)
        self._path = f"/api/v1/campaigns/{campaign_id}/statistics?metrics=overview"
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StatisticsSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self._client.close()

    def _run(self) -> None:
        while not self._done.is_set():
            data = read(self._client, self._path)
            self.samples.append(
                (datetime.now(UTC), data["overview"]["messagesSent"] if data else None)
            )
            self._done.wait(0.2)


def wait_completed(api: httpx.Client, campaign_id: str, chaos: Chaos) -> datetime:
    """Until the campaign shows completed; when it first did."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        data = read(api, f"/api/v1/campaigns/{campaign_id}")
        if data is not None and data["status"] == "completed":
            return datetime.now(UTC)
        time.sleep(0.25)
    raise AssertionError(f"the campaign did not complete\n{chaos.platform.logs()}")


# What must hold -----------------------------------------------------------------------------


def assert_exactly_once(chaos: Chaos, execution_id: str) -> tuple[list[dict], list[dict]]:
    """One final outcome and one delivery event per recipient; the simulator accepted each
    message at most once, and only messages the ledger calls sent or unconfirmed; Telegram's
    limits held. The ledger rows and the simulator's messages."""
    url = chaos.platform.database_url
    wait_published(url, execution_id, timeout=60)
    rows = ledger(url, execution_id)
    assert len(rows) == RECIPIENTS
    assert len({row["contact_id"] for row in rows}) == RECIPIENTS
    states = Counter(row["state"] for row in rows)
    assert set(states) <= set(FINAL), states

    messages = simulator_messages(chaos.simulator_url, execution_id)
    assert duplicates_by_reference(messages) == {}
    assert duplicates_by_text(messages) == {}
    by_reference = {f"{execution_id}:{r['contact_id']}:{r['message_id']}": r for r in rows}
    accepted = {m["reference"] for m in messages}
    assert accepted <= set(by_reference), accepted - set(by_reference)
    # What Telegram took is sent, or unconfirmed: its answer was lost in the fault.
    taken = Counter(by_reference[reference]["state"] for reference in accepted)
    assert set(taken) <= {"sent", "unconfirmed"}, taken
    # And what the ledger calls sent, Telegram took.
    sent = {reference for reference, row in by_reference.items() if row["state"] == "sent"}
    assert sent <= accepted, len(sent - accepted)
    unconfirmed = [row for row in rows if row["state"] == "unconfirmed"]
    assert all(row["code"] == "DELIVERY_UNCONFIRMED" for row in unconfirmed)

    violations = limit_violations(
        sent_rows(messages), per_account=RATE, private_per_second=1, group_per_minute=20
    )
    assert violations == [], violations[:5]

    events = delivery_events(chaos.platform, execution_id)
    ids = Counter(event.id for event in events)
    assert [i for i, n in ids.items() if n > 1] == [], "two events for one delivery"
    by_key = {(event.contact_id, event.message_id): event for event in events}
    assert set(by_key) == {(row["contact_id"], row["message_id"]) for row in rows}
    for row in rows:
        wanted = "delivery.sent" if row["state"] == "sent" else "delivery.failed"
        assert by_key[(row["contact_id"], row["message_id"])].type == wanted
    return rows, messages


def assert_statistics_equal_ledger(api: httpx.Client, campaign_id: str, rows: list[dict]) -> None:
    """The statistics and the progress through HTTP come to the ledger's figures."""
    wanted = {
        "messagesSent": len(rows),
        "delivered": sum(row["state"] == "sent" for row in rows),
        "processed": len(rows),
        "errors": dict(Counter(row["code"] for row in rows if row["state"] != "sent")),
    }

    def shown() -> dict | None:
        statistics = read(api, f"/api/v1/campaigns/{campaign_id}/statistics")
        progress = read(api, f"/api/v1/campaigns/{campaign_id}/progress")
        if statistics is None or progress is None:
            return None
        return {
            "messagesSent": statistics["overview"]["messagesSent"],
            "delivered": statistics["overview"]["delivered"],
            "processed": progress["progress"]["processed"],
            "errors": {error["code"]: error["count"] for error in progress["errors"]},
        }

    deadline = time.monotonic() + 60
    while (figures := shown()) != wanted and time.monotonic() < deadline:
        time.sleep(0.25)
    assert figures == wanted


# What is measured ---------------------------------------------------------------------------


def resumed_at(messages: list[dict], fault_at: datetime) -> datetime | None:
    """When the simulator accepted again after the stall the fault caused: the end of the
    longest pause in its record that began within STALL_WINDOW of the fault; None when no
    pause was longer than STALL (sending never stopped)."""
    previous, longest, resumed = fault_at, STALL, None
    for at in (m["accepted_at"] for m in messages if m["accepted_at"] > fault_at):
        if previous > fault_at + STALL_WINDOW:
            break
        if at - previous > longest:
            longest, resumed = at - previous, at
        previous = at
    return resumed


def statistics_caught_up_at(
    samples: list[tuple[datetime, int | None]], whole_at: datetime, outcomes: int
) -> datetime | None:
    """The first sample from ``whole_at`` on that counts ``outcomes`` messages or more."""
    for at, count in samples:
        if at >= whole_at and count is not None and count >= outcomes:
            return at
    return None


def finished_by(database_url: str, execution_id: str, at: datetime) -> int:
    """Outcomes the ledger held at ``at``."""
    return query(
        database_url,
        "SELECT count(*) FROM dispatcher.deliveries WHERE execution_id = %s "
        "AND state IN ('sent', 'failed', 'unconfirmed') AND finished_at <= %s",
        (execution_id, at),
    )[0][0]


RESULTS: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def recovery_table() -> Iterator[None]:
    """The module's figures together at its end, as docs/benchmarks.md records them."""
    yield
    print(
        "\n| killed | back (s) | sending resumed (s) | statistics caught up (s) | completed (s) "
        "| unconfirmed | never sent |"
    )
    print("|---|---|---|---|---|---|---|")
    for line in RESULTS:
        print(line)


def seconds(at: datetime | None, since: datetime) -> str:
    return "-" if at is None else f"{(at - since).total_seconds():.1f}"


# The test -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_a_campaign_completes_exactly_once_through_the_fault(
    chaos: Chaos, api: httpx.Client, fault: Fault
) -> None:
    first = 6_000_000 + 10_000 * FAULTS.index(fault)
    audience = make_audience(api, f"chaos-{fault.name}", list(range(first, first + RECIPIENTS)))
    campaign_id = create_campaign(api, audience, [f"Hello {{{{firstName}}}} ({fault.name})"])
    execution_id = execute(api, campaign_id)
    wait_until(
        lambda: simulator_count(chaos.simulator_url, execution_id) >= fault.kill_after,
        timeout=60,
        interval=0.02,
        what=f"{fault.kill_after} messages accepted",
    )
    with StatisticsSampler(api, campaign_id) as sampler:
        fault_at = datetime.now(UTC)
        fault.strike(chaos)
        back_at = datetime.now(UTC)
        completed_at = wait_completed(api, campaign_id, chaos)
        rows, messages = assert_exactly_once(chaos, execution_id)
        assert_statistics_equal_ledger(api, campaign_id, rows)

    resumed = resumed_at(messages, fault_at)
    whole_at = max(back_at, resumed or back_at)
    caught_up = statistics_caught_up_at(
        sampler.samples, whole_at, finished_by(chaos.platform.database_url, execution_id, whole_at)
    )
    accepted = {m["reference"] for m in messages}
    unconfirmed = [row for row in rows if row["state"] == "unconfirmed"]
    never_sent = [
        row
        for row in unconfirmed
        if f"{execution_id}:{row['contact_id']}:{row['message_id']}" not in accepted
    ]
    line = (
        f"| {fault.name} | {seconds(back_at, fault_at)} "
        f"| {seconds(resumed, fault_at) if resumed else 'never stopped'} "
        f"| {seconds(caught_up, fault_at)} | {seconds(completed_at, fault_at)} "
        f"| {len(unconfirmed)} | {len(never_sent)} |"
    )
    print(
        f"{fault.name} at {fault_at:%H:%M:%S.%f}, after {fault.kill_after} of {RECIPIENTS}: {line}"
    )
    RESULTS.append(line)
    assert len(never_sent) <= NEVER_SENT_BOUND, len(never_sent)
    # Every failure on the way is a structured log line: no task's exception goes unseen
    # (a work message nak'ed after its ack did that when the campaign service was away).
    for service in chaos.platform.services.values():
        if service.log_path.exists():
            text = service.log_path.read_text(errors="replace")
            assert "was never retrieved" not in text, f"{service.name}: {fault.name}"
            assert "MsgAlreadyAckdError" not in text, f"{service.name}: {fault.name}"
