"""NATS subject and JetStream stream names, in one place.

Every name is derived from a namespace (``TELECAST_NAMESPACE``, default ``telecast``) so that
test sessions and a running ``make run`` share one NATS server without seeing each other.
"""

from __future__ import annotations

import re

import msgspec

_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


# The aggregate types whose events the campaign service publishes.
EVENT_AREAS = ("campaign", "segment", "template")


def check_namespace(namespace: str) -> str:
    """Return the namespace if it is usable in subjects and stream names, else raise."""
    if not _NAMESPACE.match(namespace):
        raise ValueError(
            "a namespace is 1-32 characters of lowercase letters, digits and '_', "
            f"starting with a letter; got {namespace!r}"
        )
    return namespace


class Subjects(msgspec.Struct, frozen=True):
    """The subjects and streams of one namespace."""

    namespace: str

    # JetStream: the campaign service's events (campaigns, segments, templates), published by
    # its outbox relay, one subject per event type: <ns>.events.campaign.created, ….
    @property
    def campaign_events_stream(self) -> str:
        return f"{self.namespace.upper()}_CAMPAIGN_EVENTS"

    @property
    def campaign_service_events(self) -> list[str]:
        """The subjects of that stream: one wildcard per aggregate type."""
        return [f"{self.namespace}.events.{area}.>" for area in EVENT_AREAS]

    @property
    def campaign_events(self) -> str:
        """Wildcard covering the Campaign aggregate's events only."""
        return f"{self.namespace}.events.campaign.>"

    def event(self, event_type: str) -> str:
        """The subject of an event type such as ``campaign.created``."""
        return f"{self.namespace}.events.{event_type}"

    # Request/reply. A command or query ``kind`` is "<area>.<name>" (campaign.create,
    # segment.list, …): its subject is <ns>.cmd.<kind> or <ns>.query.<kind>, and each service
    # subscribes to the areas it serves.
    @property
    def command_prefix(self) -> str:
        """What every command subject starts with (commands are signed: command_signing)."""
        return f"{self.namespace}.cmd."

    def command(self, kind: str) -> str:
        return f"{self.command_prefix}{kind}"

    def commands(self, area: str) -> str:
        return f"{self.namespace}.cmd.{area}.*"

    def query(self, kind: str) -> str:
        return f"{self.namespace}.query.{kind}"

    def queries(self, area: str) -> str:
        return f"{self.namespace}.query.{area}.*"

    # JetStream: the dispatcher's delivery events (one per recipient and message: sent or
    # failed) and its execution events, published from its ledger: <ns>.events.delivery.sent,
    # <ns>.events.execution.planned, ….
    @property
    def delivery_events_stream(self) -> str:
        return f"{self.namespace.upper()}_DELIVERY_EVENTS"

    @property
    def delivery_service_events(self) -> list[str]:
        return [f"{self.namespace}.events.delivery.>", f"{self.namespace}.events.execution.>"]

    # JetStream work queue: an execution's recipients in batches, one subject per priority
    # (<ns>.work.high, .normal, .low) so that each has its own consumer.
    @property
    def work_stream(self) -> str:
        return f"{self.namespace.upper()}_DISPATCH_WORK"

    def work(self, priority: str) -> str:
        return f"{self.namespace}.work.{priority}"

    # JetStream key-value bucket of the dispatcher replicas' leases on sending accounts.
    @property
    def account_leases_bucket(self) -> str:
        return f"{self.namespace.upper()}_ACCOUNT_LEASES"

    @property
    def streams(self) -> tuple[str, ...]:
        """Every stream of this namespace (tests delete them when they end)."""
        return (
            self.campaign_events_stream,
            self.delivery_events_stream,
            self.work_stream,
            f"KV_{self.account_leases_bucket}",
        )

    def durable(self, consumer: str) -> str:
        """A durable consumer name, unique per namespace."""
        return f"{self.namespace}_{consumer}"

    # Request/reply with the dispatcher's webhook subscriptions. A request's kind
    # ("webhook.create", "webhook.list", …) names its subject: <ns>.cmd.webhook.create for a
    # change, <ns>.query.webhook.list for a read.
    def webhook_command(self, kind: str) -> str:
        return f"{self.namespace}.cmd.{_webhook_kind(kind)}"

    @property
    def webhook_commands(self) -> str:
        return f"{self.namespace}.cmd.webhook.*"

    def webhook_query(self, kind: str) -> str:
        return f"{self.namespace}.query.{_webhook_kind(kind)}"

    @property
    def webhook_queries(self) -> str:
        return f"{self.namespace}.query.webhook.*"

    # Request/reply with the dispatcher's interaction recording: a followed tracked link
    # (<ns>.cmd.tracking.click) and a reported conversion (<ns>.cmd.tracking.conversion).
    def tracking_command(self, kind: str) -> str:
        if not kind.startswith("tracking.") or "." in kind.removeprefix("tracking."):
            raise ValueError(f"not a tracking request kind: {kind!r}")
        return f"{self.namespace}.cmd.{kind}"

    @property
    def tracking_commands(self) -> str:
        return f"{self.namespace}.cmd.tracking.*"

    # Core NATS (no stream): a gateway announces that an operator's credentials changed
    # (password, role, disabled, deleted), and every gateway drops its cached copy.
    @property
    def operator_changed(self) -> str:
        return f"{self.namespace}.gateway.operator_changed"


def _webhook_kind(kind: str) -> str:
    if not kind.startswith("webhook.") or "." in kind.removeprefix("webhook."):
        raise ValueError(f"not a webhook request kind: {kind!r}")
    return kind


def subjects_for(namespace: str) -> Subjects:
    return Subjects(check_namespace(namespace))
