"""Prometheus metrics of sending: what an operator watches while campaigns run."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SENDS = Counter(
    "telecast_dispatcher_sends_total",
    "Send attempts by result (sent, failed, unconfirmed, retry, wait, account) and code",
    ["result", "code"],
)
SEND_SECONDS = Histogram(
    "telecast_dispatcher_send_seconds",
    "Time from a send's start to Telegram's answer",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FLOOD_WAIT_SECONDS = Counter(
    "telecast_dispatcher_flood_wait_seconds_total",
    "Seconds of FloodWait Telegram asked for, by account",
    ["account"],
)
ACCOUNT_STATE = Gauge(
    "telecast_dispatcher_account_state",
    "1 for the state each sending account is in, here: sending (this replica holds its "
    "lease), waiting (FloodWait), standby (another replica or none holds it), limited, dead",
    ["account", "state"],
)
QUEUE_DEPTH = Gauge(
    "telecast_dispatcher_work_queue_depth",
    "Work items (batches of recipients) waiting on the work queue, by priority",
    ["priority"],
)
ITEMS_RUNNING = Gauge("telecast_dispatcher_items_running", "Work items this replica is sending")
READY = Gauge("telecast_dispatcher_ready_deliveries", "Claimed deliveries waiting for an account")
PLANNED = Counter(
    "telecast_dispatcher_planned_recipients_total", "Recipients queued by the planner"
)
UNPUBLISHED = Gauge(
    "telecast_dispatcher_unpublished_deliveries",
    "Delivery outcomes committed to the ledger but not yet published (outbox lag)",
)
LEADER = Gauge(
    "telecast_dispatcher_sending_leader", "1 when this replica runs the execution intake"
)
GUARDS = Counter(
    "telecast_dispatcher_guard_trips_total",
    "Executions paused or stopped by a guard, by code",
    ["code"],
)


def set_account_state(account: str, state: str) -> None:
    for name in ("sending", "waiting", "standby", "limited", "dead"):
        ACCOUNT_STATE.labels(account, name).set(1 if name == state else 0)


SWEEP_FAILURES = Counter(
    "telecast_dispatcher_sweep_failures_total",
    "Steps of the leader's sweep that failed (each is retried on the next sweep)",
    ["step"],
)
PUBLISH_FAILURES = Counter(
    "telecast_dispatcher_publish_failures_total",
    "Batches of events whose publishing failed or timed out (their outbox keeps them; the "
    "sweeper publishes them again)",
    ["events"],
)
