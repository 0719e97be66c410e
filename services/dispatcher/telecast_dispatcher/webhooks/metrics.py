"""Prometheus metrics of webhook delivery (``telecast_webhook_*``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter(
    "telecast_webhook_attempts_total",
    "Delivery attempts by outcome (succeeded, retrying, failed) and status "
    "(the HTTP status, or timeout, error, refused)",
    ["outcome", "status"],
)
DELIVERIES = Counter(
    "telecast_webhook_deliveries_total",
    "Deliveries finished, by outcome (succeeded, failed = given up)",
    ["outcome"],
)
ATTEMPT_SECONDS = Histogram(
    "telecast_webhook_attempt_seconds",
    "Time from sending a delivery to the receiver's answer (or the failure)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ENQUEUED = Counter(
    "telecast_webhook_deliveries_enqueued_total",
    "Deliveries written to the outbox, by kind",
    ["kind"],
)
PENDING = Gauge("telecast_webhook_pending_deliveries", "Deliveries waiting to be sent or retried")
IN_FLIGHT = Gauge("telecast_webhook_in_flight", "Requests to receivers in flight")
DISABLED = Gauge("telecast_webhook_disabled_subscriptions", "Subscriptions that are not active")
DISABLED_TOTAL = Counter(
    "telecast_webhook_subscriptions_disabled_total",
    "Subscriptions disabled because their receiver kept failing (or answered 410)",
)
INTAKE_POSITION = Gauge(
    "telecast_webhook_intake_position", "Last stream sequence turned into deliveries"
)
INTAKE_LAG = Gauge(
    "telecast_webhook_intake_lag_events", "Campaign events not yet turned into deliveries"
)
LEADER = Gauge(
    "telecast_webhook_leader",
    "1 when this replica runs the given part (intake, delivery)",
    ["part"],
)
